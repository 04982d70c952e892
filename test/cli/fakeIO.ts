/** Buffers that stand in for stdout and stderr in CLI tests. */

import type { Writer } from '../../src/cli/command.js';
import type { CliIO } from '../../src/cli/cli.js';

/** Collects everything written to it. */
export class TextSink implements Writer {
  readonly chunks: string[] = [];

  write(chunk: string): boolean {
    this.chunks.push(chunk);
    return true;
  }

  get text(): string {
    return this.chunks.join('');
  }

  /** The lines written, without the empty string after the final newline. */
  get lines(): string[] {
    const lines = this.text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    return lines;
  }
}

export function fakeIO(overrides: Partial<CliIO> = {}): { io: CliIO; stdout: TextSink; stderr: TextSink } {
  const stdout = new TextSink();
  const stderr = new TextSink();
  return { io: { stdout, stderr, ...overrides }, stdout, stderr };
}
