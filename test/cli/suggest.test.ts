import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { closest, levenshtein } from '../../src/cli/suggest.js';

describe('levenshtein', () => {
  it('counts insertions, deletions and substitutions', () => {
    assert.equal(levenshtein('', ''), 0);
    assert.equal(levenshtein('abc', ''), 3);
    assert.equal(levenshtein('kitten', 'sitting'), 3);
    assert.equal(levenshtein('stpes', 'steps'), 2);
  });
});

describe('closest', () => {
  const names = ['train', 'eval', 'encode', 'decode', 'reconstruct'];
  it('suggests a near candidate', () => {
    assert.equal(closest('trian', names), 'train');
    assert.equal(closest('evl', names), 'eval');
    assert.equal(closest('Decode', names), 'decode');
  });
  it('suggests a unique candidate that the input begins', () => {
    assert.equal(closest('recon', names), 'reconstruct');
  });
  it('suggests nothing for far-off input', () => {
    assert.equal(closest('sample', names), undefined);
    assert.equal(closest('x', ['ab']), undefined);
  });
});
