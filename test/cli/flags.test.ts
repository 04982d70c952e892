import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { UserError } from '../../src/errors.js';
import { camelCase, checkSpec, parseFlags, UsageError, type FlagSpec } from '../../src/cli/flags.js';

const spec = [
  { name: 'data', type: 'string', required: true, metavar: 'SPEC', help: 'dataset' },
  { name: 'out', type: 'string', metavar: 'DIR', help: 'output directory' },
  { name: 'steps', type: 'int', min: 1, default: 1000, help: 'training steps' },
  { name: 'codebook-size', type: 'int', min: 1, default: 512, help: 'codebook entries K' },
  { name: 'res-hidden', type: 'int', min: 1, help: 'residual width' },
  { name: 'beta', type: 'number', min: 0, max: 1, default: 0.25, help: 'commitment weight' },
  { name: 'lr', type: 'number', min: 0, exclusiveMin: true, default: 2e-4, help: 'learning rate' },
  { name: 'shift', type: 'number', help: 'an offset' },
  { name: 'batch', type: 'number', integer: true, min: 1, max: 4096, help: 'batch size' },
  { name: 'backend', type: 'choice', choices: ['auto', 'native', 'wasm', 'cpu'], default: 'auto', help: 'engine' },
  { name: 'ema', type: 'boolean', help: 'EMA codebook' },
] as const satisfies readonly FlagSpec[];

function parse(...argv: string[]) {
  return parseFlags(spec, argv);
}

/** Asserts that parsing `argv` fails with a UsageError whose message is exactly `message`. */
function rejects(argv: string[], message: string): void {
  assert.throws(
    () => parseFlags(spec, argv),
    (error: unknown) => {
      assert.ok(error instanceof UsageError, `expected a UsageError, got ${String(error)}`);
      assert.equal(error.message, message);
      return true;
    },
  );
}

describe('parseFlags', () => {
  it('applies defaults and camelCases kebab-case names', () => {
    assert.deepEqual(parse('--data', 'mnist'), {
      data: 'mnist',
      out: undefined,
      steps: 1000,
      codebookSize: 512,
      resHidden: undefined,
      beta: 0.25,
      lr: 2e-4,
      shift: undefined,
      batch: undefined,
      backend: 'auto',
      ema: false,
    });
  });

  it('parses every type, in both --flag value and --flag=value forms', () => {
    const flags = parse(
      '--data=folder:/tmp/x=y',
      '--out',
      'runs/a',
      '--steps=50',
      '--codebook-size',
      '1e3',
      '--res-hidden=32',
      '--beta',
      '1',
      '--lr=1e-3',
      '--batch',
      '128',
      '--backend=wasm',
      '--ema',
    );
    assert.equal(flags.data, 'folder:/tmp/x=y');
    assert.equal(flags.out, 'runs/a');
    assert.equal(flags.steps, 50);
    assert.equal(flags.codebookSize, 1000);
    assert.equal(flags.resHidden, 32);
    assert.equal(flags.beta, 1);
    assert.equal(flags.lr, 0.001);
    assert.equal(flags.batch, 128);
    assert.equal(flags.backend, 'wasm');
    assert.equal(flags.ema, true);
  });

  it('takes a negative number and a lone dash as values', () => {
    assert.equal(parse('--data', 'mnist', '--shift', '-0.5').shift, -0.5);
    assert.equal(parse('--data', 'mnist', '--shift=-2').shift, -2);
    assert.equal(parse('--data', 'mnist', '--out', '-').out, '-');
  });

  it('accepts flags after --', () => {
    assert.equal(parse('--data', 'mnist', '--').data, 'mnist');
  });

  it('rejects bad numbers, naming the flag, the constraint and the value', () => {
    rejects(['--data', 'x', '--codebook-size', '0'], '--codebook-size must be an integer >= 1, got "0"');
    rejects(['--data', 'x', '--codebook-size=abc'], '--codebook-size must be an integer >= 1, got "abc"');
    rejects(['--data', 'x', '--steps', '1.5'], '--steps must be an integer >= 1, got "1.5"');
    rejects(['--data', 'x', '--steps', '0x10'], '--steps must be an integer >= 1, got "0x10"');
    rejects(['--data', 'x', '--beta', '2'], '--beta must be a number between 0 and 1, got "2"');
    rejects(['--data', 'x', '--lr', '0'], '--lr must be a number > 0, got "0"');
    rejects(['--data', 'x', '--lr', 'Infinity'], '--lr must be a number > 0, got "Infinity"');
    rejects(['--data', 'x', '--batch', '12.5'], '--batch must be an integer between 1 and 4096, got "12.5"');
    rejects(['--data', 'x', '--shift', 'NaN'], '--shift must be a number, got "NaN"');
  });

  it('rejects a value outside the choices, listing them', () => {
    rejects(['--data', 'x', '--backend', 'gpu'], '--backend must be one of auto, native, wasm, cpu, got "gpu"');
  });

  it('rejects unknown flags, suggesting the nearest', () => {
    rejects(['--data', 'x', '--stpes', '5'], 'unknown flag --stpes (did you mean --steps?)');
    rejects(['--stpes=5', '--data', 'x'], 'unknown flag --stpes (did you mean --steps?)');
    rejects(['--codebook', '5'], 'unknown flag --codebook (did you mean --codebook-size?)');
    rejects(['--zzzzzz'], 'unknown flag --zzzzzz');
    rejects(['-steps', '5'], 'unknown flag -steps (did you mean --steps?)');
    rejects(['-s', '5'], 'unknown flag -s');
    rejects(['--help'], 'unknown flag --help');
  });

  it('reports missing required flags', () => {
    rejects([], 'missing required flag --data');
    const twoRequired = [
      { name: 'data', type: 'string', required: true, help: 'd' },
      { name: 'out', type: 'string', required: true, help: 'o' },
    ] as const satisfies readonly FlagSpec[];
    assert.throws(() => parseFlags(twoRequired, []), { message: 'missing required flags --data, --out' });
  });

  it('rejects positional arguments, also after --', () => {
    rejects(['--data', 'x', 'foo'], 'unexpected argument "foo"');
    rejects(['--data', 'x', '--', 'foo'], 'unexpected argument "foo"');
    rejects(['--ema', 'false', '--data', 'x'], 'unexpected argument "false"');
  });

  it('rejects a flag given twice', () => {
    rejects(['--data', 'x', '--steps', '5', '--steps=6'], '--steps given more than once');
    rejects(['--data', 'x', '--ema', '--ema'], '--ema given more than once');
  });

  it('rejects a missing value', () => {
    rejects(['--data', 'x', '--steps'], '--steps requires a value');
    rejects(['--data', 'x', '--out', '--steps', '5'], '--out requires a value');
    rejects(['--data', 'x', '--out='], '--out must not be empty');
  });

  it('rejects a value for a switch', () => {
    rejects(['--data', 'x', '--ema=yes'], '--ema is a switch and takes no value, got "--ema=yes"');
  });

  it('throws UsageError, a UserError', () => {
    const error = new UsageError('m');
    assert.ok(error instanceof UserError);
    assert.equal(error.name, 'UsageError');
  });
});

describe('checkSpec', () => {
  it('rejects specs that cannot work, as programmer errors', () => {
    const bad = (flags: readonly FlagSpec[], message: RegExp) => {
      assert.throws(() => checkSpec(flags), (error: unknown) => {
        assert.ok(error instanceof Error && !(error instanceof UserError));
        assert.match(error.message, message);
        return true;
      });
    };
    bad([{ name: 'resHidden', type: 'int', help: '' }], /kebab-case/);
    bad([{ name: 'help', type: 'boolean', help: '' }], /handled by the CLI/);
    bad(
      [
        { name: 'a', type: 'int', help: '' },
        { name: 'a', type: 'string', help: '' },
      ],
      /declared twice/,
    );
    bad([{ name: 'b', type: 'choice', choices: ['x'], default: 'y', help: '' }], /default "y" is not one of x/);
    bad([{ name: 'c', type: 'int', min: 1, default: 0, help: '' }], /default 0 is not an integer >= 1/);
    bad([{ name: 'd', type: 'string', required: true, default: 'x', help: '' }], /required flags take no default/);
  });
});

describe('camelCase', () => {
  it('joins kebab-case words', () => {
    assert.equal(camelCase('res-hidden'), 'resHidden');
    assert.equal(camelCase('codebook-size'), 'codebookSize');
    assert.equal(camelCase('steps'), 'steps');
  });
});
