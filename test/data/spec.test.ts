/** The data SPEC and the checks `loadDataset` makes on its options. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FASHION_MNIST_DIR, loadDataset, parseDataSpec } from '../../src/data/index.js';
import { assertUserError } from './helpers.js';

test('parseDataSpec understands every valid form', () => {
  assert.deepEqual(parseDataSpec('mnist'), { kind: 'mnist', spec: 'mnist' });
  assert.deepEqual(parseDataSpec('fashion-mnist'), {
    kind: 'fashion-mnist', spec: 'fashion-mnist', dir: FASHION_MNIST_DIR, isDefaultDir: true,
  });
  assert.deepEqual(parseDataSpec('fashion-mnist:/d/f'), {
    kind: 'fashion-mnist', spec: 'fashion-mnist:/d/f', dir: '/d/f', isDefaultDir: false,
  });
  assert.deepEqual(parseDataSpec('cifar10:/d/c'), { kind: 'cifar10', spec: 'cifar10:/d/c', dir: '/d/c' });
  assert.deepEqual(parseDataSpec('wav:/d/speech'), { kind: 'wav', spec: 'wav:/d/speech', dir: '/d/speech' });
  // Only the first colon separates: the directory may contain more.
  assert.deepEqual(parseDataSpec('folder:./a:b'), { kind: 'folder', spec: 'folder:./a:b', dir: './a:b' });
});

test('an unknown or incomplete spec is a UserError listing the valid forms', async () => {
  const forms = /valid forms: mnist, fashion-mnist, fashion-mnist:DIR, cifar10:DIR, folder:DIR, wav:DIR$/;
  await assertUserError(() => parseDataSpec('imagenet:/x'), /"imagenet:\/x"/, /unknown data set/, forms);
  await assertUserError(() => loadDataset('MNIST'), /"MNIST"/, /unknown data set/, forms);
  await assertUserError(() => parseDataSpec('cifar10'), /`cifar10` needs a directory, as cifar10:DIR/, forms);
  await assertUserError(() => parseDataSpec('folder:'), /"folder:"/, /directory after `:` is empty/, forms);
  await assertUserError(() => parseDataSpec('mnist:/x'), /`mnist` takes no directory/, forms);
  await assertUserError(() => parseDataSpec(''), /""/, /unknown data set/, forms);
});

test('limit must be an integer of at least 1', async () => {
  for (const limit of [0, -3, 2.5, Number.NaN]) {
    await assertUserError(() => loadDataset('mnist', { limit }), new RegExp(`invalid limit ${limit}: expected an integer of at least 1`));
  }
});

test('split must be train or test', async () => {
  await assertUserError(
    () => loadDataset('mnist', { split: 'validation' as never }),
    /invalid split "validation": expected one of train, test/,
  );
});

test('resize must be two positive integers, and only for folder data', async () => {
  await assertUserError(
    () => loadDataset('folder:/nowhere', { resize: [0, 32] }),
    /invalid resize \[0, 32\]: expected \[height, width\], two integers of at least 1/,
  );
  await assertUserError(
    () => loadDataset('mnist', { resize: [32, 32] }),
    /resize applies only to folder:DIR data; mnist has a fixed image size/,
  );
});
