/**
 * Declarative command-line flags over `node:util` `parseArgs`.
 *
 * A command lists its flags as data; `parseFlags` turns argv into an object
 * whose keys are the camelCase flag names, with defaults applied, and whose
 * type is inferred from the list:
 *
 *   const spec = [
 *     { name: 'steps', type: 'int', min: 1, default: 1000, metavar: 'N', help: 'training steps' },
 *     { name: 'res-hidden', type: 'int', min: 1, default: 32, help: 'residual width' },
 *     { name: 'backend', type: 'choice', choices: ['auto', 'cpu'], default: 'auto', help: '...' },
 *     { name: 'out', type: 'string', required: true, metavar: 'DIR', help: 'model directory' },
 *     { name: 'ema', type: 'boolean', help: 'EMA codebook updates' },
 *   ] as const satisfies readonly FlagSpec[];
 *   parseFlags(spec, ['--steps=50', '--out', 'runs/a'])
 *   // { steps: 50, resHidden: 32, backend: 'auto', out: 'runs/a', ema: false }
 *   //   typed { steps: number; resHidden: number; backend: 'auto' | 'cpu'; out: string; ema: boolean }
 *
 * Flags are long and kebab-case only (`--flag value` or `--flag=value`);
 * a boolean flag is a switch that takes no value. Every mistake throws a
 * `UsageError` whose message names the flag and says what was expected and
 * what was found. A malformed spec (the programmer's mistake) throws a plain
 * `Error` instead.
 */

import { parseArgs } from 'node:util';

import { UserError } from '../errors.js';
import { closest } from './suggest.js';

/** A mistake on the command line: the CLI prints it on one line and exits with status 2. */
export class UsageError extends UserError {
  constructor(message: string) {
    super(message);
    Object.defineProperty(this, 'name', { value: 'UsageError' });
  }
}

interface FlagBase {
  /** Kebab-case name without the dashes: `res-hidden` is `--res-hidden`, read as `resHidden`. */
  readonly name: string;
  /** One line for `--help`. */
  readonly help: string;
  /** Placeholder for the value in `--help` (`--steps N`); a default is chosen from the type. */
  readonly metavar?: string;
  /** Fail with "missing required flag --name" when absent. */
  readonly required?: boolean;
}

/** An integer, written in decimal (`1000`, `1e3`). */
export interface IntFlag extends FlagBase {
  readonly type: 'int';
  readonly min?: number;
  readonly max?: number;
  readonly default?: number;
}

/** A finite number (`2e-4`, `0.25`); `integer: true` also demands a whole number. */
export interface NumberFlag extends FlagBase {
  readonly type: 'number';
  readonly min?: number;
  readonly max?: number;
  /** `min` itself is not allowed (`--lr` must be > 0). */
  readonly exclusiveMin?: boolean;
  /** `max` itself is not allowed. */
  readonly exclusiveMax?: boolean;
  readonly integer?: boolean;
  readonly default?: number;
}

/** Any non-empty text: a path, a data spec. */
export interface StringFlag extends FlagBase {
  readonly type: 'string';
  readonly default?: string;
}

/** A switch: present means true. Defaults to false. */
export interface BooleanFlag extends FlagBase {
  readonly type: 'boolean';
  readonly default?: boolean;
}

/** One of a fixed list of words. */
export interface ChoiceFlag extends FlagBase {
  readonly type: 'choice';
  readonly choices: readonly string[];
  readonly default?: string;
}

export type FlagSpec = IntFlag | NumberFlag | StringFlag | BooleanFlag | ChoiceFlag;

/** `res-hidden` → `resHidden`, as a type. */
export type CamelCase<S extends string> = S extends `${infer Head}-${infer Tail}`
  ? `${Head}${Capitalize<CamelCase<Tail>>}`
  : S;

/** The value type one flag parses to. */
export type FlagValue<F extends FlagSpec> = F extends { readonly type: 'int' | 'number' }
  ? number
  : F extends { readonly type: 'boolean' }
    ? boolean
    : F extends { readonly type: 'choice'; readonly choices: readonly (infer C extends string)[] }
      ? C
      : string;

/** Booleans, required flags and flags with a default always have a value. */
type AlwaysSet<F extends FlagSpec> = F extends { readonly type: 'boolean' }
  ? true
  : F extends { readonly required: true }
    ? true
    : F extends { readonly default: string | number | boolean }
      ? true
      : false;

/** The object `parseFlags` returns for a spec: camelCase keys, typed values. */
export type Flags<S extends readonly FlagSpec[]> = {
  readonly [F in S[number] as CamelCase<F['name']>]: AlwaysSet<F> extends true
    ? FlagValue<F>
    : FlagValue<F> | undefined;
};

/** The usual `--json` switch, for commands that measure something (one JSON object on the last line, docs/ARCHITECTURE.md). */
export const jsonFlag = {
  name: 'json',
  type: 'boolean',
  help: 'print a JSON summary as the last line of stdout (progress goes to stderr)',
} as const satisfies BooleanFlag;

/** `res-hidden` → `resHidden`. */
export function camelCase(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
}

/** Flag names the CLI handles itself, before a command's flags are parsed. */
const RESERVED = new Set(['help', 'version']);
const KEBAB = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** Throws a plain Error for a spec that cannot work: a programmer's mistake, not a user's. */
export function checkSpec(spec: readonly FlagSpec[]): void {
  const seen = new Set<string>();
  for (const flag of spec) {
    const where = `flag spec --${flag.name}`;
    if (!KEBAB.test(flag.name)) throw new Error(`${where}: name must be kebab-case like "res-hidden"`);
    if (RESERVED.has(flag.name)) throw new Error(`${where}: --${flag.name} is handled by the CLI itself`);
    if (seen.has(flag.name)) throw new Error(`${where}: declared twice`);
    seen.add(flag.name);
    if (flag.required && flag.default !== undefined) throw new Error(`${where}: required flags take no default`);
    if (flag.type === 'choice') {
      if (flag.choices.length === 0) throw new Error(`${where}: choices must not be empty`);
      if (flag.default !== undefined && !flag.choices.includes(flag.default)) {
        throw new Error(`${where}: default "${flag.default}" is not one of ${flag.choices.join(', ')}`);
      }
    }
    if ((flag.type === 'int' || flag.type === 'number') && flag.default !== undefined) {
      if (!inRange(flag, flag.default)) throw new Error(`${where}: default ${flag.default} is not ${describeNumber(flag)}`);
    }
  }
}

/**
 * Parses `argv` (the arguments after the command name) against `spec`.
 * Absent flags take their default: false for booleans, undefined where none
 * is given.
 */
export function parseFlags<const S extends readonly FlagSpec[]>(spec: S, argv: readonly string[]): Flags<S> {
  checkSpec(spec);
  const byName = new Map<string, FlagSpec>(spec.map((flag) => [flag.name, flag]));
  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const flag of spec) options[flag.name] = { type: flag.type === 'boolean' ? 'boolean' : 'string' };

  // Non-strict, so that every mistake gets our own message; we check the tokens below.
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const given = new Map<string, string | number | boolean>();
  for (const token of tokens) {
    if (token.kind === 'option-terminator') continue;
    if (token.kind === 'positional') throw new UsageError(`unexpected argument "${token.value}"`);
    const typed = argv[token.index];
    const flag = token.rawName.startsWith('--') ? byName.get(token.name) : undefined;
    if (flag === undefined) throw unknownFlag(typed.startsWith('--') ? typed.split('=')[0] : typed, spec);
    if (given.has(flag.name)) throw new UsageError(`--${flag.name} given more than once`);
    if (flag.type === 'boolean') {
      if (token.inlineValue) throw new UsageError(`--${flag.name} is a switch and takes no value, got "${typed}"`);
      given.set(flag.name, true);
      continue;
    }
    const value = token.value;
    if (value === undefined || (!token.inlineValue && looksLikeFlag(value))) {
      throw new UsageError(`--${flag.name} requires a value`);
    }
    given.set(flag.name, convert(flag, value));
  }

  const missing = spec.filter((flag) => flag.required && !given.has(flag.name)).map((flag) => `--${flag.name}`);
  if (missing.length === 1) throw new UsageError(`missing required flag ${missing[0]}`);
  if (missing.length > 1) throw new UsageError(`missing required flags ${missing.join(', ')}`);

  const result: Record<string, string | number | boolean | undefined> = {};
  for (const flag of spec) {
    result[camelCase(flag.name)] = given.get(flag.name) ?? flag.default ?? (flag.type === 'boolean' ? false : undefined);
  }
  return result as Flags<S>;
}

/** A separate argument taken as a value, that is surely a flag the user meant (`--out --steps 5`). */
function looksLikeFlag(value: string): boolean {
  return value.startsWith('-') && value !== '-' && !NUMBER.test(value);
}

function unknownFlag(typed: string, spec: readonly FlagSpec[]): UsageError {
  const name = typed.replace(/^-+/, '');
  const suggestion = closest(name, [...spec.map((flag) => flag.name), 'help']);
  if (suggestion === name && typed.startsWith('--')) return new UsageError(`unknown flag ${typed}`);
  return new UsageError(`unknown flag ${typed}${suggestion ? ` (did you mean --${suggestion}?)` : ''}`);
}

/** Decimal numbers only: `0x10`, `Infinity` and `''` are not numbers here, although `Number()` accepts them. */
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i;

function convert(flag: Exclude<FlagSpec, BooleanFlag>, text: string): string | number {
  switch (flag.type) {
    case 'string':
      if (text === '') throw new UsageError(`--${flag.name} must not be empty`);
      return text;
    case 'choice':
      if (!flag.choices.includes(text)) {
        throw new UsageError(`--${flag.name} must be one of ${flag.choices.join(', ')}, got "${text}"`);
      }
      return text;
    case 'int':
    case 'number': {
      const value = NUMBER.test(text) ? Number(text) : NaN;
      if (!inRange(flag, value)) throw new UsageError(`--${flag.name} must be ${describeNumber(flag)}, got "${text}"`);
      return value;
    }
    default:
      return assertNever(flag);
  }
}

function isInteger(flag: IntFlag | NumberFlag): boolean {
  return flag.type === 'int' || flag.integer === true;
}

function inRange(flag: IntFlag | NumberFlag, value: number): boolean {
  if (!Number.isFinite(value)) return false;
  if (isInteger(flag) && !Number.isSafeInteger(value)) return false;
  const exclusiveMin = flag.type === 'number' && flag.exclusiveMin === true;
  const exclusiveMax = flag.type === 'number' && flag.exclusiveMax === true;
  if (flag.min !== undefined && (exclusiveMin ? value <= flag.min : value < flag.min)) return false;
  if (flag.max !== undefined && (exclusiveMax ? value >= flag.max : value > flag.max)) return false;
  return true;
}

/** "an integer >= 1", "a number > 0 and <= 1", "an integer between 1 and 8". */
export function describeNumber(flag: IntFlag | NumberFlag): string {
  const kind = isInteger(flag) ? 'an integer' : 'a number';
  const exclusiveMin = flag.type === 'number' && flag.exclusiveMin === true;
  const exclusiveMax = flag.type === 'number' && flag.exclusiveMax === true;
  const { min, max } = flag;
  if (min !== undefined && max !== undefined && !exclusiveMin && !exclusiveMax) {
    return `${kind} between ${min} and ${max}`;
  }
  const bounds: string[] = [];
  if (min !== undefined) bounds.push(`${exclusiveMin ? '>' : '>='} ${min}`);
  if (max !== undefined) bounds.push(`${exclusiveMax ? '<' : '<='} ${max}`);
  return bounds.length === 0 ? kind : `${kind} ${bounds.join(' and ')}`;
}

function assertNever(value: never): never {
  throw new Error(`unexpected flag spec ${JSON.stringify(value)}`);
}
