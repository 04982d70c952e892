import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import { runCli } from '../../src/cli/cli.js';
import { defineCommand, defineGroup, type AnyCommand } from '../../src/cli/command.js';
import { jsonFlag, UsageError } from '../../src/cli/flags.js';
import { UserError } from '../../src/errors.js';
import { fakeIO } from './fakeIO.js';

const calls: unknown[] = [];

const hello = defineCommand({
  name: 'hello',
  summary: 'say hello',
  description: 'Says hello.',
  flags: [
    { name: 'name', type: 'string', default: 'world', help: 'who to greet' },
    { name: 'times', type: 'int', min: 1, default: 1, help: 'how often' },
  ],
  async run(flags, ctx) {
    calls.push(flags);
    for (let i = 0; i < flags.times; i++) ctx.print(`hello ${flags.name}`);
  },
});

const measure = defineCommand({
  name: 'measure',
  summary: 'measure something',
  description: 'Measures.',
  flags: [{ name: 'twice', type: 'boolean', help: 'call printJson twice (a bug)' }, jsonFlag],
  async run(flags, ctx) {
    ctx.printJson({ mse: 0.5, images: 10 });
    if (flags.twice) ctx.printJson({});
    const progress = ctx.progress({ total: 2, label: 'batch' });
    progress.update(1, { mse: 0.5 }); // the CLI stops it: a final line appears although done < total
    ctx.print('measured 10 images');
  },
});

const failing = (name: string, error: () => unknown) =>
  defineCommand({
    name,
    summary: name,
    description: name,
    flags: [],
    async run() {
      throw error();
    },
  });

const waits = defineCommand({
  name: 'wait',
  summary: 'wait for Ctrl-C',
  description: 'Waits.',
  flags: [],
  async run(_flags, ctx) {
    const signal = ctx.interruptSignal();
    await new Promise((resolve) => signal.addEventListener('abort', resolve));
    signal.throwIfAborted();
  },
});

const commands: readonly AnyCommand[] = [
  hello,
  measure,
  waits,
  failing('user', () => new UserError('cannot read data/x.idx: no such file\n(check --data)')),
  failing('usage', () => new UsageError('--steps and --epochs cannot both be given')),
  failing('bug', () => new TypeError('x is not a function')),
  failing('raw', () => 'a string'),
  defineCommand({ name: 'status', summary: 's', description: 's', flags: [], run: async () => 3 }),
  defineGroup({
    name: 'prior',
    summary: 'the prior over codes',
    description: 'Train and sample a PixelCNN prior.',
    subcommands: [{ ...hello, name: 'train' }],
  }),
];

async function run(argv: string[], overrides = {}) {
  const { io, stdout, stderr } = fakeIO(overrides);
  const code = await runCli(argv, io, { commands, version: '9.9.9' });
  return { code, stdout, stderr };
}

describe('runCli', () => {
  it('runs a command with parsed flags and returns 0', async () => {
    const { code, stdout, stderr } = await run(['hello', '--name=vq', '--times', '2']);
    assert.equal(code, 0);
    assert.equal(stdout.text, 'hello vq\nhello vq\n');
    assert.equal(stderr.text, '');
    assert.deepEqual(calls.at(-1), { name: 'vq', times: 2 });
  });

  it('returns the status that run returns', async () => {
    assert.equal((await run(['status'])).code, 3);
  });

  it('runs nested commands', async () => {
    const { code, stdout } = await run(['prior', 'train', '--name', 'codes']);
    assert.equal(code, 0);
    assert.equal(stdout.text, 'hello codes\n');
  });

  describe('help', () => {
    for (const argv of [[], ['--help'], ['-h'], ['help']]) {
      it(`prints the command list for "vqvae ${argv.join(' ')}"`, async () => {
        const { code, stdout, stderr } = await run(argv);
        assert.equal(code, 0);
        assert.equal(stderr.text, '');
        assert.match(stdout.text, /^usage: vqvae <command> \[flags\]/);
        for (const command of commands) assert.match(stdout.text, new RegExp(`\\n {2}${command.name} `));
        assert.match(stdout.text, /--version/);
      });
    }

    for (const argv of [['hello', '--help'], ['hello', '-h'], ['help', 'hello'], ['hello', '--times', '0', '--help']]) {
      it(`prints a command's flags for "vqvae ${argv.join(' ')}"`, async () => {
        const { code, stdout } = await run(argv);
        assert.equal(code, 0);
        assert.match(stdout.text, /^usage: vqvae hello \[flags\]/);
        assert.match(stdout.text, /--times N +how often \(default: 1\)/);
      });
    }

    for (const argv of [['prior'], ['prior', '--help'], ['help', 'prior']]) {
      it(`prints a group's commands for "vqvae ${argv.join(' ')}"`, async () => {
        const { code, stdout } = await run(argv);
        assert.equal(code, 0);
        assert.match(stdout.text, /^usage: vqvae prior <command> \[flags\]/);
        assert.match(stdout.text, /\n {2}train +say hello/);
      });
    }

    it('prints help for a nested command', async () => {
      const { code, stdout } = await run(['help', 'prior', 'train']);
      assert.equal(code, 0);
      assert.match(stdout.text, /^usage: vqvae prior train \[flags\]/);
    });
  });

  it('prints the version', async () => {
    const { code, stdout } = await run(['--version']);
    assert.equal(code, 0);
    assert.equal(stdout.text, '9.9.9\n');
  });

  it("reads the version from the package's package.json by default", async () => {
    const manifest = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    const { io, stdout } = fakeIO();
    assert.equal(await runCli(['--version'], io, { commands }), 0);
    assert.equal(stdout.text, `${manifest.version}\n`);
  });

  describe('usage errors: one line on stderr, status 2', () => {
    const cases: [string[], string][] = [
      [['mesure'], 'unknown command "mesure" (did you mean "measure"?)'],
      [['helo'], 'unknown command "helo" (did you mean "hello"?)'],
      [['xyzzy'], 'unknown command "xyzzy"'],
      [['prior', 'trian'], 'unknown command "prior trian" (did you mean "prior train"?)'],
      [['help', 'nope'], 'unknown command "nope"'],
      [['help', 'hello', 'x'], '"vqvae hello" has no subcommand "x"'],
      [['--versoin'], 'unknown flag --versoin (did you mean --version?)'],
      [['--times', '2', 'hello'], 'unknown flag --times: flags go after the command, as in "vqvae <command> --times"'],
      [['hello', '--tims', '2'], 'unknown flag --tims (did you mean --times?)'],
      [['hello', '--times', '0'], '--times must be an integer >= 1, got "0"'],
      [['hello', 'there'], 'unexpected argument "there"'],
      [['usage'], '--steps and --epochs cannot both be given'],
    ];
    for (const [argv, message] of cases) {
      it(`vqvae ${argv.join(' ')}`, async () => {
        const { code, stdout, stderr } = await run(argv);
        assert.equal(code, 2);
        assert.equal(stdout.text, '');
        assert.equal(stderr.text, `vqvae: error: ${message}\n`);
      });
    }
  });

  it('prints a UserError as one line without a stack, status 1', async () => {
    const { code, stderr } = await run(['user']);
    assert.equal(code, 1);
    assert.deepEqual(stderr.lines, ['vqvae: error: cannot read data/x.idx: no such file (check --data)']);
  });

  it('prints the stack of an unexpected error, status 1', async () => {
    const { code, stderr } = await run(['bug']);
    assert.equal(code, 1);
    assert.match(stderr.lines[0], /^vqvae: internal error/);
    assert.match(stderr.text, /TypeError: x is not a function\n {4}at /);
    assert.ok(stderr.lines.length > 2);
  });

  it('reports a thrown non-Error as a bug', async () => {
    const { code, stderr } = await run(['raw']);
    assert.equal(code, 1);
    assert.match(stderr.text, /internal error[^]*'a string'/);
  });

  describe('--json', () => {
    it('prints the JSON object as the last line of stdout, progress on stderr', async () => {
      const { code, stdout, stderr } = await run(['measure', '--json']);
      assert.equal(code, 0);
      assert.deepEqual(stdout.lines, ['measured 10 images', '{"mse":0.5,"images":10}']);
      assert.deepEqual(JSON.parse(stdout.lines.at(-1)!), { mse: 0.5, images: 10 });
      assert.deepEqual(stderr.lines, ['batch 1/2 (50%) mse 0.5']);
    });

    it('without --json, progress goes to stdout and no JSON is printed', async () => {
      const { stdout, stderr } = await run(['measure']);
      assert.deepEqual(stdout.lines, ['batch 1/2 (50%) mse 0.5', 'measured 10 images']);
      assert.equal(stderr.text, '');
    });

    it('treats a second printJson as a bug and prints no JSON', async () => {
      const { code, stdout, stderr } = await run(['measure', '--json', '--twice']);
      assert.equal(code, 1);
      assert.equal(stdout.text, '');
      assert.match(stderr.text, /printJson called twice/);
    });
  });

  describe('interrupts', () => {
    it('aborts on the first SIGINT, exits 130, and removes its listeners', async () => {
      const signals = new EventEmitter();
      const exits: number[] = [];
      const { io, stderr } = fakeIO({ signals, exit: (code: number) => exits.push(code) });
      const running = runCli(['wait'], io, { commands });
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(signals.listenerCount('SIGINT'), 1);
      signals.emit('SIGINT');
      assert.equal(await running, 130);
      assert.deepEqual(stderr.lines, [
        'vqvae: interrupted; finishing up (press Ctrl-C again to quit at once)',
        'vqvae: interrupted',
      ]);
      assert.equal(signals.listenerCount('SIGINT'), 0);
      assert.equal(signals.listenerCount('SIGTERM'), 0);
      assert.deepEqual(exits, []);
    });

    it('exits 143 on SIGTERM', async () => {
      const signals = new EventEmitter();
      const { io } = fakeIO({ signals });
      const running = runCli(['wait'], io, { commands });
      await new Promise((resolve) => setImmediate(resolve));
      signals.emit('SIGTERM');
      assert.equal(await running, 143);
    });
  });

  it('loads the real command list by default', async () => {
    const { io, stdout } = fakeIO();
    assert.equal(await runCli(['--help'], io), 0);
    for (const name of ['train', 'eval', 'encode', 'decode', 'reconstruct']) {
      assert.match(stdout.text, new RegExp(`\\n {2}${name} `));
    }
  });
});
