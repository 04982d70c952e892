/**
 * The key that ties a checkpoint's config.json to its weights.safetensors: both
 * carry the same random id (checkpoint.ts). Its own file, free of `fs`, so the
 * browser page can check it too (model/modelFile.ts).
 */
export const CHECKPOINT_ID_KEY = 'checkpoint_id';
