/**
 * The `folder:DIR` SPEC: a directory of PNG/JPEG files (.png .jpg .jpeg, any
 * letter case), such as ../shared/datasets/cifar10-jpg.
 *
 * Layout:
 *   DIR/train/<class>/*.png, DIR/test/<class>/*.jpg   the two splits
 *   DIR/<class>/*.png                                  no train/ or test/: the
 *                                                      whole folder is both splits
 * Each sub-folder of a split folder is a class: classNames are the sub-folder
 * names sorted (by UTF-16 code unit, so the order never depends on locale),
 * taken over both splits so a label means the same class in train and test;
 * labels are indices into them. Images directly in a split folder get label
 * -1. Deeper folders and hidden entries are not read.
 *
 * Order: images directly in the split folder first, then class by class,
 * each by file name. With `limit`, only the first N files of that order are
 * decoded.
 *
 * Output: [count, height, width, channels] bytes. channels is 1 when every
 * pixel of every image has R == G == B, else 3; alpha is dropped. All images
 * must share the first image's size unless `resize` gives one.
 */
import path from 'node:path';
import { UserError } from '../errors.js';
import type { ImageDataset, Split } from './dataset.js';
import { byCodeUnit, isDirectory, readBytes, readDir } from './files.js';
import { decodeImageFile, isImageFileName, type RgbaImage } from './imageFile.js';
import { resizeBilinear } from './resize.js';

interface ImageEntry {
  readonly file: string;
  /** Index into classNames, -1 for a file directly in the split folder. */
  readonly label: number;
}

export function loadFolder(
  spec: string,
  dir: string,
  split: Split,
  limit: number | undefined,
  resize: readonly [number, number] | undefined,
  onProgress?: (done: number, total: number) => void,
): ImageDataset {
  const { splitDir, classRoots } = locateSplit(spec, dir, split);
  const classNames = listClassNames(classRoots);
  const all = listImages(splitDir, classNames);
  if (all.length === 0) {
    throw new UserError(`${spec}: no image files (.png, .jpg, .jpeg) in ${splitDir} or its class sub-folders`);
  }
  const entries = limit === undefined ? all : all.slice(0, limit);
  const { images, height, width, channels } = decodeAll(entries, resize, onProgress);
  const labels = Int32Array.from(entries, (entry) => entry.label);
  return { spec, split, count: entries.length, height, width, channels, images, labels, classNames };
}

/** The folder for this split, and the folders whose sub-folders name classes. */
function locateSplit(spec: string, dir: string, split: Split): { splitDir: string; classRoots: string[] } {
  if (!isDirectory(dir)) throw new UserError(`${spec}: directory ${dir} not found`);
  const train = path.join(dir, 'train');
  const test = path.join(dir, 'test');
  const hasTrain = isDirectory(train);
  const hasTest = isDirectory(test);
  if (!hasTrain && !hasTest) return { splitDir: dir, classRoots: [dir] };

  const splitDir = split === 'train' ? train : test;
  if (!isDirectory(splitDir)) {
    throw new UserError(`${spec}: ${dir} has ${hasTrain ? 'train/' : 'test/'} but no ${split}/ sub-folder; expected both train/ and test/, or neither`);
  }
  return { splitDir, classRoots: [train, test].filter(isDirectory) };
}

function listClassNames(roots: readonly string[]): string[] {
  const names = new Set<string>();
  for (const root of roots) {
    for (const entry of readDir(root)) if (entry.isDirectory()) names.add(entry.name);
  }
  return [...names].sort(byCodeUnit);
}

function listImages(splitDir: string, classNames: readonly string[]): ImageEntry[] {
  const entries: ImageEntry[] = imageFilesIn(splitDir).map((file) => ({ file, label: -1 }));
  classNames.forEach((name, label) => {
    const classDir = path.join(splitDir, name);
    if (!isDirectory(classDir)) return; // a class present only in the other split
    for (const file of imageFilesIn(classDir)) entries.push({ file, label });
  });
  return entries;
}

/** Image files directly in `dir`, sorted by name. */
function imageFilesIn(dir: string): string[] {
  return readDir(dir)
    .filter((entry) => !entry.isDirectory() && isImageFileName(entry.name))
    .map((entry) => entry.name)
    .sort(byCodeUnit)
    .map((name) => path.join(dir, name));
}

/**
 * Decodes every entry into one RGB buffer, then drops to one channel if all
 * of it turned out grey (known only after the last pixel is seen).
 */
function decodeAll(
  entries: readonly ImageEntry[],
  resize: readonly [number, number] | undefined,
  onProgress?: (done: number, total: number) => void,
): { images: Uint8Array; height: number; width: number; channels: number } {
  const first = decode(entries[0].file);
  const [height, width] = resize ?? [first.height, first.width];
  const pixels = height * width;
  const rgb = new Uint8Array(entries.length * pixels * 3);
  let grey = true;

  entries.forEach((entry, i) => {
    const image = i === 0 ? first : decode(entry.file);
    const rgba = sized(image, entry.file, height, width, resize !== undefined, entries[0].file);
    grey = copyRgb(rgba, rgb.subarray(i * pixels * 3, (i + 1) * pixels * 3)) && grey;
    if (onProgress && ((i + 1) % 500 === 0 || i + 1 === entries.length)) onProgress(i + 1, entries.length);
  });

  if (!grey) return { images: rgb, height, width, channels: 3 };
  const single = new Uint8Array(entries.length * pixels);
  for (let p = 0; p < single.length; p++) single[p] = rgb[p * 3];
  return { images: single, height, width, channels: 1 };
}

function decode(file: string): RgbaImage {
  return decodeImageFile(file, readBytes(file));
}

/** The RGBA bytes at [height, width]: resized if asked, else a size mismatch is an error. */
function sized(image: RgbaImage, file: string, height: number, width: number, resize: boolean, firstFile: string): Uint8Array {
  if (image.height === height && image.width === width) return image.rgba;
  if (resize) return resizeBilinear(image.rgba, image.height, image.width, 4, height, width);
  throw new UserError(
    `${file} is ${image.height}x${image.width} (HxW) but the first image, ${firstFile}, is ${height}x${width}; pass --resize HxW to resize every image to one size`,
  );
}

/** RGBA to RGB; returns whether every pixel had R == G == B. */
function copyRgb(rgba: Uint8Array, rgb: Uint8Array): boolean {
  let grey = true;
  for (let p = 0, q = 0; q < rgb.length; p += 4, q += 3) {
    const r = rgba[p], g = rgba[p + 1], b = rgba[p + 2];
    rgb[q] = r;
    rgb[q + 1] = g;
    rgb[q + 2] = b;
    if (r !== g || g !== b) grey = false;
  }
  return grey;
}
