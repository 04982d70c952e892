/**
 * What a `vqvae` subcommand is: its name, its help text, its flags as data,
 * and a `run` that receives the parsed flags and a context for output.
 *
 *   export const evalCommand = defineCommand({
 *     name: 'eval',
 *     summary: 'measure reconstruction error and codebook use',
 *     description: 'Reconstructs a data split through a trained model and reports ...',
 *     usage: '--model DIR --data SPEC [flags]',
 *     flags: [
 *       { name: 'model', type: 'string', required: true, metavar: 'DIR', help: 'model directory' },
 *       { name: 'limit', type: 'int', min: 1, metavar: 'N', help: 'use at most N images' },
 *       jsonFlag,
 *     ],
 *     examples: ['vqvae eval --model runs/mnist --data mnist --json'],
 *     async run(flags, ctx) {
 *       // flags: { model: string; limit: number | undefined; json: boolean }
 *       ctx.printJson({ mse: 0.01 });
 *     },
 *   });
 *
 * A `CommandGroup` holds subcommands (`vqvae prior train`); groups nest.
 */

import type { FlagSpec, Flags } from './flags.js';
import type { Progress } from './progress.js';

/** Anything text can be written to: a stream, or a buffer in tests. */
export interface Writer {
  write(chunk: string): unknown;
}

/** What `run` gets besides its flags. */
export interface CommandContext {
  /** The words that named the command, e.g. `['vqvae', 'prior', 'train']`. */
  readonly path: readonly string[];
  readonly stdout: Writer;
  readonly stderr: Writer;
  /** Whether stdout is a terminal. */
  readonly isTTY: boolean;
  /** Whether the command's `--json` flag is on. Progress then goes to stderr. */
  readonly json: boolean;
  /** Writes `text` and a newline to stdout. Do not call while a progress bar is drawn: use its `log`. */
  print(text: string): void;
  /** Writes `vqvae: warning: <text>` to stderr. */
  warn(text: string): void;
  /**
   * Prints `value` as one line of JSON, as the last line of stdout: the line
   * is written after `run` returns (not if it throws), so nothing can follow it.
   * Call it at most once.
   */
  printJson(value: object): void;
  /**
   * A progress display on stdout, or on stderr under `--json`: a bar on a
   * terminal, a log line every `intervalSeconds` (default 10) otherwise.
   * The CLI stops it when `run` ends, if `run` did not.
   */
  progress(options: { total: number; label: string; intervalSeconds?: number }): Progress;
  /**
   * Aborted on the first Ctrl-C (SIGINT) or SIGTERM, so a long job can save
   * and stop cleanly; a second one exits at once with status 130 (143 for
   * SIGTERM). Listeners are installed on the first call and removed when
   * `run` ends. Throwing `signal.reason` (`signal.throwIfAborted()`) makes
   * the CLI print "vqvae: interrupted" and exit 130.
   */
  interruptSignal(): AbortSignal;
}

/** A leaf command: `vqvae train`. */
export interface Command<S extends readonly FlagSpec[] = readonly FlagSpec[]> {
  /** The word that selects it. */
  readonly name: string;
  /** One line, lower case, no period, for the command list. */
  readonly summary: string;
  /** One paragraph for `--help`. */
  readonly description: string;
  /**
   * The arguments after the command path, for the usage line:
   * `'--data SPEC --out DIR [flags]'` renders as `usage: vqvae train --data SPEC --out DIR [flags]`.
   * Built from the required flags when omitted.
   */
  readonly usage?: string;
  readonly flags: S;
  /** Whole command lines, shown under "examples:". */
  readonly examples?: readonly string[];
  /** Returns the exit status (default 0). Throw a `UserError` for mistakes the user can fix. */
  run(flags: Flags<S>, ctx: CommandContext): Promise<number | void>;
}

/** A command that only holds subcommands: `vqvae prior` (`train`, `sample`). */
export interface CommandGroup {
  readonly name: string;
  readonly summary: string;
  readonly description: string;
  readonly subcommands: readonly AnyCommand[];
  readonly examples?: readonly string[];
}

export type AnyCommand = Command | CommandGroup;

/** Identity, there so that `flags` is typed from the spec inside `run`. */
export function defineCommand<const S extends readonly FlagSpec[]>(command: Command<S>): Command<S> {
  return command;
}

export function defineGroup(group: CommandGroup): CommandGroup {
  return group;
}

export function isGroup(command: AnyCommand): command is CommandGroup {
  return 'subcommands' in command;
}
