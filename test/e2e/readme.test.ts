/**
 * The README's command lines stay true: every `npx vqvae ...` line names a
 * command that exists and flags that command accepts, with valid values.
 * (Running them all would train on full data sets for minutes each; the
 * workflow tests run the same commands on small data.)
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { commands } from '../../src/cli/commands.js';
import { isGroup, type Command } from '../../src/cli/command.js';
import { parseFlags } from '../../src/cli/flags.js';

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
const lines = readme
  .split('\n')
  .map((line) => line.replace(/#.*$/, '').trim())
  .filter((line) => line.startsWith('npx vqvae '));

describe('README command lines', () => {
  it('has some', () => {
    assert.ok(lines.length >= 5, `found ${lines.length}`);
  });

  for (const line of lines) {
    it(line, () => {
      let [, , name, ...args] = line.split(/\s+/);
      let command = commands.find((c) => c.name === name);
      // A group (`vqvae prior train`): the next word picks the subcommand.
      while (command && isGroup(command)) {
        [name, ...args] = args;
        command = command.subcommands.find((c) => c.name === name);
      }
      assert.ok(command && !isGroup(command), `no command "${name}"`);
      assert.doesNotThrow(() => parseFlags((command as Command).flags, args));
    });
  }
});
