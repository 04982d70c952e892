// Built by scripts/bundle-gradients.mjs: registers every tfjs-core gradient.
export {};
