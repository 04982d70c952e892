/**
 * The `fashion-mnist` SPEC (Xiao, Rasul, Vollgraf 2017): Zalando's 70,000
 * 28x28 greyscale clothing images as four IDX files, the layout of the
 * original release and of Debian's `dataset-fashion-mnist`:
 *   train-images-idx3-ubyte.gz  train-labels-idx1-ubyte.gz   (60,000)
 *   t10k-images-idx3-ubyte.gz   t10k-labels-idx1-ubyte.gz    (10,000)
 * The un-gzipped names (no `.gz`) are accepted too.
 *
 * Output: [count, 28, 28, 1] bytes in file order, labels 0..9.
 */
import path from 'node:path';
import { UserError } from '../errors.js';
import type { ImageDataset, Split } from './dataset.js';
import { isDirectory, isFile } from './files.js';
import { readIdxImages, readIdxLabels } from './idx.js';
import { keptCount } from './loadOptions.js';

export const FASHION_MNIST_CLASS_NAMES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat',
  'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
] as const;

export interface FashionMnistSource {
  readonly spec: string;
  readonly dir: string;
  /** The Debian path: a missing file then means the package is not installed. */
  readonly isDefaultDir: boolean;
}

const INSTALL_HINT = 'install it with `apt-get install dataset-fashion-mnist`, or pass fashion-mnist:DIR';

export function loadFashionMnist(source: FashionMnistSource, split: Split, limit: number | undefined): ImageDataset {
  const { spec, dir } = source;
  if (!isDirectory(dir)) {
    throw new UserError(`${spec}: directory ${dir} not found${source.isDefaultDir ? `; ${INSTALL_HINT}` : ''}`);
  }
  const prefix = split === 'train' ? 'train' : 't10k';
  const imagesFile = findFile(source, `${prefix}-images-idx3-ubyte`);
  const labelsFile = findFile(source, `${prefix}-labels-idx1-ubyte`);

  const images = readIdxImages(imagesFile);
  const labelBytes = readIdxLabels(labelsFile);
  if (labelBytes.length !== images.count) {
    throw new UserError(`${spec}: ${imagesFile} holds ${images.count} images but ${labelsFile} holds ${labelBytes.length} labels; expected the same count`);
  }
  checkLabelRange(labelsFile, labelBytes);

  const count = keptCount(images.count, limit);
  const pixels = images.height * images.width;
  return {
    spec,
    split,
    count,
    height: images.height,
    width: images.width,
    channels: 1,
    // A copy when limited, so a few items do not pin the whole decoded file.
    images: count === images.count ? images.pixels : images.pixels.slice(0, count * pixels),
    labels: Int32Array.from(labelBytes.subarray(0, count)),
    classNames: FASHION_MNIST_CLASS_NAMES,
  };
}

/** DIR/NAME.gz, else DIR/NAME, else a UserError naming both. */
function findFile(source: FashionMnistSource, name: string): string {
  const candidates = [`${name}.gz`, name].map((file) => path.join(source.dir, file));
  const found = candidates.find(isFile);
  if (found === undefined) {
    const hint = source.isDefaultDir ? `; ${INSTALL_HINT}` : '';
    throw new UserError(`${source.spec}: missing file ${candidates[0]} (or ${path.basename(candidates[1])})${hint}`);
  }
  return found;
}

function checkLabelRange(file: string, labels: Uint8Array): void {
  const classes = FASHION_MNIST_CLASS_NAMES.length;
  const bad = labels.findIndex((label) => label >= classes);
  if (bad >= 0) {
    throw new UserError(`${file}: label ${bad} is ${labels[bad]}, expected 0..${classes - 1}`);
  }
}
