/**
 * The data sets: `loadDataset(SPEC, options)` turns a SPEC (`mnist`,
 * `fashion-mnist[:DIR]`, `cifar10:DIR`, `folder:DIR`) into an `ImageDataset`
 * of NHWC bytes; `parseDataSpec` checks and explains a SPEC without loading.
 */
export type { ImageDataset, LoadOptions, Split } from './dataset.js';
export { loadDataset } from './load.js';
export { FASHION_MNIST_DIR, VALID_SPEC_FORMS, parseDataSpec } from './spec.js';
export type { DataKind, DataSpec } from './spec.js';
export { CIFAR10_CLASS_NAMES } from './cifar10.js';
export { FASHION_MNIST_CLASS_NAMES } from './fashionMnist.js';
export { resizeBilinear } from './resize.js';
