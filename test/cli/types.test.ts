/**
 * Compile-time checks that flags are typed from their spec: this file fails
 * to build (tsc) if the inference breaks. The runtime test only confirms it ran.
 */

import assert from 'node:assert/strict';
import { it } from 'node:test';

import { defineCommand, type AnyCommand } from '../../src/cli/command.js';
import { jsonFlag, parseFlags, type Flags } from '../../src/cli/flags.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(_: T): void {}

const command = defineCommand({
  name: 'train',
  summary: 's',
  description: 'd',
  flags: [
    { name: 'steps', type: 'int', default: 1000, help: 'h' },
    { name: 'res-hidden', type: 'int', help: 'h' },
    { name: 'backend', type: 'choice', choices: ['auto', 'cpu'], default: 'auto', help: 'h' },
    { name: 'split', type: 'choice', choices: ['train', 'test'], help: 'h' },
    { name: 'out', type: 'string', required: true, help: 'h' },
    { name: 'ema', type: 'boolean', help: 'h' },
    jsonFlag,
  ],
  async run(flags) {
    expectType<
      Equal<
        typeof flags,
        {
          readonly steps: number;
          readonly resHidden: number | undefined;
          readonly backend: 'auto' | 'cpu';
          readonly split: 'train' | 'test' | undefined;
          readonly out: string;
          readonly ema: boolean;
          readonly json: boolean;
        }
      >
    >(true);
    // @ts-expect-error: not a flag
    void flags.nope;
  },
});

// A typed command fits in the registry.
const registry: readonly AnyCommand[] = [command];

// parseFlags infers without `as const` too.
const parsed = parseFlags([{ name: 'code-dim', type: 'number', default: 64, help: 'h' }], []);
expectType<Equal<typeof parsed, Flags<readonly [{ name: 'code-dim'; type: 'number'; default: 64; help: 'h' }]>>>(true);
expectType<Equal<typeof parsed.codeDim, number>>(true);

it('flag types are inferred from the spec (checked by tsc)', () => {
  assert.equal(registry.length, 1);
  assert.equal(parsed.codeDim, 64);
});
