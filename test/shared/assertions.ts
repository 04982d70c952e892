/** Assertions shared by the test areas. */
import assert from 'node:assert/strict';
import { UserError } from '../../src/errors.js';

/** A RegExp matching `text` literally (file paths contain regex characters). */
export function literal(text: string): RegExp {
  return new RegExp(text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'));
}

/** Checks that `error` is a one-line UserError whose message matches every pattern; true for assert.throws/rejects. */
export function isOneLineUserError(error: unknown, patterns: readonly RegExp[]): true {
  assert.ok(error instanceof UserError, `expected a UserError, got ${String(error)}`);
  for (const pattern of patterns) assert.match(error.message, pattern);
  assert.ok(!error.message.includes('\n'), `message should be one line: ${error.message}`);
  return true;
}
