/**
 * `loadDataset(SPEC, options)`: the one entry point from a data SPEC (see
 * spec.ts) to an in-memory `ImageDataset` of [count, height, width, channels]
 * bytes. Options are checked before any file is read, so a bad `--limit`
 * fails at once instead of after decoding 50,000 images.
 *
 * Example: `await loadDataset('mnist', { split: 'test', limit: 16 })` gives
 * 16 digits, images of 16 * 28 * 28 * 1 bytes, labels 0..9.
 */
import { UserError } from '../errors.js';
import { loadCifar10 } from './cifar10.js';
import type { ImageDataset, LoadOptions } from './dataset.js';
import { loadFashionMnist } from './fashionMnist.js';
import { loadFolder } from './folder.js';
import { checkLoadOptions } from './loadOptions.js';
import { loadMnist } from './mnist.js';
import { parseDataSpec } from './spec.js';

export { parseDataSpec } from './spec.js';
export type { DataSpec } from './spec.js';

export async function loadDataset(spec: string, options: LoadOptions = {}): Promise<ImageDataset> {
  const parsed = parseDataSpec(spec);
  const { split, limit, resize } = checkLoadOptions(options);
  if (resize !== undefined && parsed.kind !== 'folder') {
    throw new UserError(`resize applies only to folder:DIR data; ${spec} has a fixed image size, so drop --resize`);
  }

  switch (parsed.kind) {
    case 'mnist':
      return loadMnist(spec, split, limit);
    case 'fashion-mnist':
      return loadFashionMnist(parsed, split, limit);
    case 'cifar10':
      return loadCifar10(spec, parsed.dir, split, limit);
    case 'folder':
      return loadFolder(spec, parsed.dir, split, limit, resize, options.onProgress);
    case 'wav':
      throw new UserError(`${spec} is speech, not images: only the audio model reads it (src/data/wav.ts)`);
  }
}
