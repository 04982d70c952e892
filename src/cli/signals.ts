/**
 * Ctrl-C for long jobs: the first SIGINT (or SIGTERM) asks the job to stop,
 * so training can finish its step, save a checkpoint and exit cleanly; a
 * second one exits at once with status 130 (SIGINT) or 143 (SIGTERM), the
 * shell's convention of 128 + signal number.
 *
 *   const { signal, dispose } = interruptSignal();
 *   try {
 *     for (let step = 0; step < steps && !signal.aborted; step++) trainStep();
 *     saveCheckpoint();
 *   } finally {
 *     dispose(); // Ctrl-C kills the process again
 *   }
 *
 * While listeners are installed Node does not exit on SIGINT by itself, so
 * install them only around work that watches the signal, and always dispose.
 */

import type { Writer } from './command.js';

export type InterruptSignalName = 'SIGINT' | 'SIGTERM';

const SIGNALS: readonly InterruptSignalName[] = ['SIGINT', 'SIGTERM'];

/** The exit status for a process ended by `signal`: 128 + its number. */
export function interruptExitCode(signal: InterruptSignalName): number {
  return signal === 'SIGINT' ? 130 : 143;
}

/** The abort reason of an interrupt signal; the CLI turns it into "vqvae: interrupted" and status 130. */
export class Interrupted extends Error {
  constructor(readonly signal: InterruptSignalName) {
    super(`interrupted by ${signal}`);
    Object.defineProperty(this, 'name', { value: 'Interrupted' });
  }

  get exitCode(): number {
    return interruptExitCode(this.signal);
  }
}

/** Where signals come from: `process`, or an EventEmitter in tests. */
export interface SignalSource {
  on(event: InterruptSignalName, listener: () => void): unknown;
  off(event: InterruptSignalName, listener: () => void): unknown;
}

export interface InterruptOptions {
  /** Default `process`. */
  source?: SignalSource;
  /** Called on the second signal; default `process.exit`. */
  exit?: (code: number) => void;
}

/**
 * Calls `handler` on the first SIGINT or SIGTERM; on the second, exits with
 * 128 + signal number. Returns a function that removes the listeners.
 */
export function onInterrupt(handler: (signal: InterruptSignalName) => void, options: InterruptOptions = {}): () => void {
  const source = options.source ?? process;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let received = 0;
  const listeners = SIGNALS.map((signal) => {
    const listener = () => {
      received += 1;
      if (received === 1) handler(signal);
      else exit(interruptExitCode(signal));
    };
    source.on(signal, listener);
    return { signal, listener };
  });
  return () => {
    for (const { signal, listener } of listeners) source.off(signal, listener);
  };
}

export interface InterruptSignal {
  /** Aborted on the first signal, with an `Interrupted` as its reason. */
  signal: AbortSignal;
  /** Removes the listeners; call it when the work is done. */
  dispose(): void;
}

/**
 * An AbortSignal for the first Ctrl-C. With `notice` and `stderr`, writes
 * `notice` on the first signal so that the user knows a second one quits.
 */
export function interruptSignal(options: InterruptOptions & { notice?: string; stderr?: Writer } = {}): InterruptSignal {
  const controller = new AbortController();
  const dispose = onInterrupt((signal) => {
    if (options.notice !== undefined) (options.stderr ?? process.stderr).write(`${options.notice}\n`);
    controller.abort(new Interrupted(signal));
  }, options);
  return { signal: controller.signal, dispose };
}
