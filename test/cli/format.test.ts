import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { formatDuration, formatFields, formatNumber } from '../../src/cli/format.js';

describe('formatNumber', () => {
  it('keeps about four significant digits', () => {
    const cases: [number, string][] = [
      [0, '0'],
      [250, '250'],
      [312.44, '312.4'],
      [0.012345, '0.01235'],
      [0.0123, '0.0123'],
      [0.5, '0.5'],
      [12.0001, '12'],
      [1234.5, '1235'],
      [-3.14159, '-3.142'],
      [0.0002, '2e-4'],
      [1.234e-5, '1.23e-5'],
      [2_500_000, '2.5e6'],
      [NaN, 'nan'],
      [Infinity, 'inf'],
      [-Infinity, '-inf'],
    ];
    for (const [value, text] of cases) assert.equal(formatNumber(value), text, String(value));
  });
});

describe('formatDuration', () => {
  it('uses the two largest units', () => {
    assert.equal(formatDuration(0), '0s');
    assert.equal(formatDuration(44.6), '45s');
    assert.equal(formatDuration(192), '3m12s');
    assert.equal(formatDuration(3600), '1h00m');
    assert.equal(formatDuration(7322), '2h02m');
    assert.equal(formatDuration(3 * 86400 + 4 * 3600), '3d04h');
    assert.equal(formatDuration(NaN), '?');
    assert.equal(formatDuration(-1), '?');
  });
});

describe('formatFields', () => {
  it('puts a unit after its value', () => {
    assert.deepEqual(formatFields({ loss: 0.0123, ppl: 312.4, 'img/s': 250, backend: 'native' }), [
      'loss 0.0123',
      'ppl 312.4',
      '250 img/s',
      'backend native',
    ]);
  });
});
