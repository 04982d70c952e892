/**
 * The `vqvae` command line, runnable in-process: `runCli(argv, io)` finds
 * the command, parses its flags, runs it and returns the exit status. It
 * never throws and never calls `process.exit`; `main.ts` wires it to the
 * process.
 *
 *   await runCli(['train', '--data', 'mnist', '--out', 'runs/a'])  // 0
 *   await runCli(['trian'])  // 2, stderr: vqvae: error: unknown command "trian" (did you mean "train"?)
 *
 * Exit status: 0 success (and help, version); 1 a `UserError` (one line
 * on stderr: `vqvae: error: <message>`) or a bug (its stack on stderr);
 * 2 a usage mistake (`UsageError`: unknown command or flag, bad value);
 * 130 interrupted by Ctrl-C; otherwise what the command's `run` returned.
 */

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';

import { PeerFailed } from '../distributed/communicator.js';
import { mpiEnvironment } from '../distributed/environment.js';
import { isUserError } from '../errors.js';
import { defineGroup, isGroup, type AnyCommand, type Command, type CommandContext, type CommandGroup, type Writer } from './command.js';
import { parseFlags, UsageError } from './flags.js';
import { isAgreed } from './distributed.js';
import { HELP_WIDTH, renderCommandHelp, renderGroupHelp } from './help.js';
import { createProgress, type Progress } from './progress.js';
import { Interrupted, interruptSignal, type InterruptSignal, type SignalSource } from './signals.js';
import { closest } from './suggest.js';

export const PROGRAM = 'vqvae';

const DESCRIPTION =
  'Learn discrete representations of images with a VQ-VAE (van den Oord, Vinyals, Kavukcuoglu 2017): ' +
  'train an encoder, a codebook and a decoder, measure reconstructions, turn images into grids of ' +
  'code indices and decode codes back into images.';

const INTERRUPT_NOTICE = `${PROGRAM}: interrupted; finishing up (press Ctrl-C again to quit at once)`;

/** Where the CLI talks to; tests pass buffers. */
export interface CliIO {
  stdout: Writer;
  stderr: Writer;
  /** stdout is a terminal: progress draws a bar (default false). */
  isTTY?: boolean;
  /** stderr is a terminal, for progress under `--json` (default false). */
  stderrIsTTY?: boolean;
  /** Terminal width for help text (default 80, at most 100 used). */
  columns?: number;
  /** Clock in milliseconds for progress (default `performance.now`). */
  now?: () => number;
  /** Source of SIGINT/SIGTERM (default `process`). */
  signals?: SignalSource;
  /** Called on a second Ctrl-C (default `process.exit`). */
  exit?: (code: number) => void;
  /** Where the error line goes (default `stderr`): ranks other than 0 of an MPI job keep it, and nothing else. */
  errors?: Writer;
  /** This process's rank in an MPI job (default 0): other ranks leave usage errors to rank 0. */
  rank?: number;
}

export interface CliOptions {
  /** The top-level commands (default: `commands.ts`, loaded on first use). */
  commands?: readonly AnyCommand[];
  /** For `--version` (default: package.json's). */
  version?: string;
}

const silent: Writer = { write: () => true };

/**
 * The real process's streams. `TERM=dumb` counts as no terminal. In an MPI
 * job (src/distributed/environment.ts) rank 0 alone prints; the other ranks
 * print only an error of their own.
 */
export function processIO(): CliIO {
  const dumb = process.env['TERM'] === 'dumb';
  const rank = mpiEnvironment()?.rank ?? 0;
  return {
    stdout: rank === 0 ? process.stdout : silent,
    stderr: rank === 0 ? process.stderr : silent,
    errors: process.stderr,
    rank,
    isTTY: process.stdout.isTTY === true && !dumb,
    stderrIsTTY: process.stderr.isTTY === true && !dumb,
    columns: process.stdout.columns,
  };
}

/** Runs one command line (`argv` without node and the script) and returns the exit status. */
export async function runCli(argv: readonly string[], io: CliIO = processIO(), options: CliOptions = {}): Promise<number> {
  try {
    const commands = options.commands ?? (await import('./commands.js')).commands;
    const root = defineGroup({ name: PROGRAM, summary: '', description: DESCRIPTION, subcommands: commands });
    return await dispatch(root, [PROGRAM], argv, io, options);
  } catch (error) {
    return report(error, io);
  }
}

/** Prints what went wrong and returns the exit status for it. */
function report(error: unknown, io: CliIO): number {
  const stderr = io.errors ?? io.stderr;
  const rank = io.rank ?? 0;
  // Another rank of the job printed why: stay a moment, so that its line gets out before mpirun ends the job.
  if (error instanceof PeerFailed) {
    pause(500);
    return error.exitCode;
  }
  // A usage error is the same on every rank, and rank 0 prints it.
  if (error instanceof UsageError && rank !== 0) return 2;
  // An error the ranks did not agree on (cli/distributed.ts) may be rank 0's too: wait for mpirun to end
  // this rank once rank 0 has failed, and print only if that does not happen.
  if (rank !== 0 && isUserError(error) && !isAgreed(error)) pause(3000);
  if (error instanceof Interrupted) {
    stderr.write(`${PROGRAM}: interrupted\n`);
    return error.exitCode;
  }
  if (isUserError(error)) {
    stderr.write(`${PROGRAM}: error: ${error.message.trim().replace(/\s*\n\s*/g, ' ')}\n`);
    return error instanceof UsageError ? 2 : 1;
  }
  const fileProblem = describeFileError(error);
  if (fileProblem) {
    stderr.write(`${PROGRAM}: error: ${fileProblem}\n`);
    return 1;
  }
  stderr.write(`${PROGRAM}: internal error (a bug, not a mistake in the command line):\n${inspect(error)}\n`);
  return 1;
}

/** Blocks this thread for `ms` (no event loop: the process is about to exit). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Reasons for the file-system errors a user can cause (a bad path), by errno code. */
const FILE_ERRORS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a part of the path is not a directory',
  EISDIR: 'is a directory',
  EEXIST: 'already exists',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on the device',
  EROFS: 'read-only file system',
  ENAMETOOLONG: 'name too long',
};

/** One line for a Node file-system error (`error.code` and `error.path`), else undefined. */
export function describeFileError(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const { code, path, syscall } = error as NodeJS.ErrnoException;
  const reason = code === undefined ? undefined : FILE_ERRORS[code];
  if (reason === undefined || path === undefined) return undefined;
  return `cannot ${syscall ?? 'use'} ${path}: ${reason}`;
}

function helpWidth(io: CliIO): number {
  return Math.max(40, Math.min(io.columns ?? HELP_WIDTH, 100));
}

async function dispatch(
  group: CommandGroup,
  path: readonly string[],
  argv: readonly string[],
  io: CliIO,
  options: CliOptions,
): Promise<number> {
  const top = path.length === 1;
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h') {
    io.stdout.write(groupHelp(group, path, io));
    return 0;
  }
  if (top && first === '--version') {
    io.stdout.write(`${options.version ?? packageVersion()}\n`);
    return 0;
  }
  if (first === 'help') return help(group, path, rest, io);
  if (first.startsWith('-')) {
    const typed = first.split('=')[0];
    const suggestion = closest(typed.replace(/^-+/, ''), top ? ['help', 'version'] : ['help']);
    throw new UsageError(
      suggestion
        ? `unknown flag ${typed} (did you mean --${suggestion}?)`
        : `unknown flag ${typed}: flags go after the command, as in "${path.join(' ')} <command> ${typed}"`,
    );
  }
  const command = find(group, path, first);
  const commandPath = [...path, command.name];
  if (isGroup(command)) return dispatch(command, commandPath, rest, io, options);
  return execute(command, commandPath, rest, io);
}

/** `vqvae help`, `vqvae help train`, `vqvae help prior train`. */
function help(group: CommandGroup, path: readonly string[], names: readonly string[], io: CliIO): number {
  let current: AnyCommand = group;
  const currentPath = [...path];
  for (const name of names) {
    if (!isGroup(current)) throw new UsageError(`"${currentPath.join(' ')}" has no subcommand "${name}"`);
    current = find(current, currentPath, name);
    currentPath.push(current.name);
  }
  io.stdout.write(
    isGroup(current) ? groupHelp(current, currentPath, io) : renderCommandHelp(current, currentPath, helpWidth(io)),
  );
  return 0;
}

function groupHelp(group: CommandGroup, path: readonly string[], io: CliIO): string {
  const extra = path.length === 1 ? [{ left: '--version', right: 'print the version' }] : [];
  return renderGroupHelp(group, path, helpWidth(io), extra);
}

function find(group: CommandGroup, path: readonly string[], name: string): AnyCommand {
  const command = group.subcommands.find((candidate) => candidate.name === name);
  if (command !== undefined) return command;
  const prefix = path.slice(1).map((word) => `${word} `).join('');
  const suggestion = closest(name, group.subcommands.map((candidate) => candidate.name));
  throw new UsageError(
    `unknown command "${prefix}${name}"` + (suggestion ? ` (did you mean "${prefix}${suggestion}"?)` : ''),
  );
}

async function execute(command: Command, path: readonly string[], argv: readonly string[], io: CliIO): Promise<number> {
  const terminator = argv.indexOf('--');
  const beforeTerminator = terminator < 0 ? argv : argv.slice(0, terminator);
  if (beforeTerminator.includes('--help') || beforeTerminator.includes('-h')) {
    io.stdout.write(renderCommandHelp(command, path, helpWidth(io)));
    return 0;
  }
  const flags = parseFlags(command.flags, argv);
  const json = flags['json'] === true;
  const progresses: Progress[] = [];
  let interrupt: InterruptSignal | undefined;
  let jsonLine: string | undefined;

  const ctx: CommandContext = {
    path,
    stdout: io.stdout,
    stderr: io.stderr,
    isTTY: io.isTTY ?? false,
    json,
    print(text) {
      io.stdout.write(`${text}\n`);
    },
    warn(text) {
      io.stderr.write(`${PROGRAM}: warning: ${text}\n`);
    },
    printJson(value) {
      if (jsonLine !== undefined) throw new Error('printJson called twice: --json prints one object');
      jsonLine = JSON.stringify(value);
    },
    progress({ total, label, intervalSeconds }) {
      const progress = createProgress({
        total,
        label,
        intervalSeconds,
        isTTY: (json ? io.stderrIsTTY : io.isTTY) ?? false,
        stream: json ? io.stderr : io.stdout,
        now: io.now,
      });
      progresses.push(progress);
      return progress;
    },
    interruptSignal() {
      // On a terminal, start a fresh line: the notice must not land inside (and be redrawn over by) a progress bar.
      const notice = io.stderrIsTTY ? `\n${INTERRUPT_NOTICE}` : INTERRUPT_NOTICE;
      interrupt ??= interruptSignal({ source: io.signals, exit: io.exit, stderr: io.stderr, notice });
      return interrupt.signal;
    },
  };

  let code: number;
  try {
    code = (await command.run(flags, ctx)) ?? 0;
  } finally {
    for (const progress of progresses) progress.stop();
    interrupt?.dispose();
  }
  // The summary object is for `--json`; without it the command's own lines say the same.
  if (jsonLine !== undefined && json) io.stdout.write(`${jsonLine}\n`);
  return code;
}

let cachedVersion: string | undefined;

/** The `version` of the nearest package.json named "vqvae" above this file (dist/src/cli or src/cli). */
export function packageVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (manifest.name === PROGRAM && typeof manifest.version === 'string') {
        cachedVersion = manifest.version;
        return cachedVersion;
      }
    } catch {
      // no package.json here; keep looking upwards
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`package.json of "${PROGRAM}" not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}
