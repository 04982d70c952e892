import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { defineCommand, defineGroup } from '../../src/cli/command.js';
import { jsonFlag } from '../../src/cli/flags.js';
import { defaultUsage, renderCommandHelp, renderGroupHelp, wrap } from '../../src/cli/help.js';

const train = defineCommand({
  name: 'train',
  summary: 'train a VQ-VAE',
  description:
    'Trains an encoder, a codebook and a decoder on a data set and writes the model directory, ' +
    'saving a checkpoint every few minutes and on Ctrl-C.',
  usage: '--data SPEC --out DIR [flags]',
  flags: [
    { name: 'data', type: 'string', required: true, metavar: 'SPEC', help: 'data set: mnist, cifar10:DIR, folder:DIR' },
    { name: 'out', type: 'string', required: true, metavar: 'DIR', help: 'model directory' },
    { name: 'steps', type: 'int', min: 1, default: 1000, help: 'optimizer steps' },
    { name: 'lr', type: 'number', default: 2e-4, help: 'Adam learning rate' },
    { name: 'backend', type: 'choice', choices: ['auto', 'native', 'wasm', 'cpu'], default: 'auto', help: 'tensor backend' },
    { name: 'split', type: 'choice', choices: ['train', 'test'], default: 'test', metavar: 'NAME', help: 'data split' },
    { name: 'ema', type: 'boolean', help: 'update the codebook by exponential moving averages instead of its loss' },
    jsonFlag,
  ],
  examples: ['vqvae train --data mnist --out runs/mnist --steps 600'],
  async run() {},
});

describe('renderCommandHelp', () => {
  const text = renderCommandHelp(train, ['vqvae', 'train']);
  const lines = text.split('\n');

  it('starts with the usage line, then the description', () => {
    assert.equal(lines[0], 'usage: vqvae train --data SPEC --out DIR [flags]');
    assert.equal(lines[1], '');
    assert.match(text, /Trains an encoder, a codebook and a decoder/);
  });

  it('lists every flag with its metavar, default or required mark', () => {
    for (const flag of train.flags) assert.match(text, new RegExp(`--${flag.name}\\b`), flag.name);
    assert.match(text, /--data SPEC +data set: mnist, cifar10:DIR, folder:DIR \(required\)/);
    assert.match(text, /--steps N +optimizer steps \(default: 1000\)/);
    assert.match(text, /--lr X +Adam learning rate \(default: 0.0002\)/);
    assert.match(text, /--split NAME +data split \(one of: train, test; default: test\)/);
    assert.match(text, /--ema +update the codebook/);
    assert.match(text, /-h, --help +show this help/);
  });

  it('puts the help of a long flag on the next line, aligned', () => {
    const at = lines.findIndex((line) => line === '  --backend auto|native|wasm|cpu');
    assert.ok(at > 0, text);
    const helpColumn = lines.find((line) => line.startsWith('  --steps N'))!.indexOf('optimizer');
    assert.equal(lines[at + 1], `${' '.repeat(helpColumn)}tensor backend (default: auto)`);
  });

  it('aligns the help column and wraps to 80 columns', () => {
    const flagLines = lines.filter((line) => /^ {2}--(steps|lr|data|out) /.test(line));
    const columns = new Set(flagLines.map((line) => /^ {2}--\S+ \S+ +/.exec(line)![0].length));
    assert.equal(columns.size, 1, flagLines.join('\n'));
    for (const line of lines) assert.ok(line.length <= 80, `too long: ${line}`);
  });

  it('ends with the examples', () => {
    assert.match(text, /examples:\n {2}vqvae train --data mnist --out runs\/mnist --steps 600\n$/);
  });

  it('builds a usage line from the required flags when none is given', () => {
    assert.equal(defaultUsage(train.flags), '--data SPEC --out DIR [flags]');
    assert.equal(defaultUsage([]), '');
  });
});

describe('renderGroupHelp', () => {
  it('lists the subcommands with their summaries', () => {
    const prior = defineGroup({
      name: 'prior',
      summary: 'the PixelCNN prior over codes',
      description: 'Train and sample the prior.',
      subcommands: [train, defineGroup({ name: 'more', summary: 'nested', description: 'x', subcommands: [] })],
    });
    const text = renderGroupHelp(prior, ['vqvae', 'prior']);
    assert.match(text, /^usage: vqvae prior <command> \[flags\]\n/);
    assert.match(text, /commands:\n {2}train +train a VQ-VAE\n {2}more +nested \(has subcommands\)/);
    assert.match(text, /Run "vqvae prior <command> --help"/);
  });
});

describe('wrap', () => {
  it('wraps greedily with an indent and keeps long words whole', () => {
    assert.equal(wrap('aaa bbb ccc', 8, ''), 'aaa bbb\nccc');
    assert.equal(wrap('aaa bbb', 6, '  '), '  aaa\n  bbb');
    assert.equal(wrap('abcdefghij', 4, ''), 'abcdefghij');
  });
});
