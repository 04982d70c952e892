/**
 * `--help` text, rendered from the same data that parses the flags, so the
 * two cannot disagree:
 *
 *   usage: vqvae train --data SPEC --out DIR [flags]
 *
 *   Trains a VQ-VAE ...
 *
 *   flags:
 *     --data SPEC          dataset to train on (required)
 *     --steps N            optimizer steps (default: 1000)
 *     --backend auto|native|wasm|cpu
 *                          tensor backend (default: auto)
 *     -h, --help           show this help
 *
 *   examples:
 *     vqvae train --data mnist --out runs/mnist
 */

import { isGroup, type Command, type CommandGroup } from './command.js';
import type { FlagSpec } from './flags.js';

/** Help lines are wrapped to this many columns. */
export const HELP_WIDTH = 80;
/** The flag column never grows past this; longer flags put their help on the next line. */
const MAX_FLAG_COLUMN = 22;

/** The placeholder after a flag: the spec's `metavar`, else one chosen from its type. */
export function metavarOf(flag: FlagSpec): string | undefined {
  if (flag.type === 'boolean') return undefined;
  if (flag.metavar !== undefined) return flag.metavar;
  switch (flag.type) {
    case 'int':
      return 'N';
    case 'number':
      return 'X';
    case 'choice':
      return flag.choices.join('|');
    case 'string':
      return 'VALUE';
  }
}

/** `--data SPEC --out DIR [flags]`: the required flags, then `[flags]` if there are others. */
export function defaultUsage(flags: readonly FlagSpec[]): string {
  const required = flags.filter((flag) => flag.required).map((flag) => `--${flag.name} ${metavarOf(flag)}`);
  const optional = flags.some((flag) => !flag.required);
  return [...required, ...(optional ? ['[flags]'] : [])].join(' ');
}

/** The help text of a leaf command; `path` is the words that name it, e.g. `['vqvae', 'train']`. */
export function renderCommandHelp(command: Command, path: readonly string[], width = HELP_WIDTH): string {
  const usage = command.usage ?? defaultUsage(command.flags);
  const rows = command.flags.map((flag) => {
    const metavar = metavarOf(flag);
    return { left: metavar === undefined ? `--${flag.name}` : `--${flag.name} ${metavar}`, right: flagHelp(flag) };
  });
  rows.push({ left: '-h, --help', right: 'show this help' });
  return joinSections([
    `usage: ${[...path, usage].filter(Boolean).join(' ')}`,
    paragraphs(command.description, width),
    `flags:\n${table(rows, width)}`,
    examplesSection(command.examples),
  ]);
}

/**
 * The help text of a group: its commands and their summaries. `extraFlags`
 * lists flags the group itself takes (the top level's `--version`).
 */
export function renderGroupHelp(
  group: CommandGroup,
  path: readonly string[],
  width = HELP_WIDTH,
  extraFlags: readonly { left: string; right: string }[] = [],
): string {
  const commands = group.subcommands.map((command) => ({
    left: command.name,
    right: isGroup(command) ? `${command.summary} (has subcommands)` : command.summary,
  }));
  const where = path.join(' ');
  return joinSections([
    `usage: ${where} <command> [flags]`,
    paragraphs(group.description, width),
    `commands:\n${table(commands, width)}`,
    `flags:\n${table([{ left: '-h, --help', right: 'show this help' }, ...extraFlags], width)}`,
    examplesSection(group.examples),
    `Run "${where} <command> --help" for the flags of one command.`,
  ]);
}

function flagHelp(flag: FlagSpec): string {
  const notes: string[] = [];
  if (flag.type === 'choice' && flag.metavar !== undefined) notes.push(`one of: ${flag.choices.join(', ')}`);
  if (flag.required) notes.push('required');
  else if (flag.default !== undefined && flag.type !== 'boolean') notes.push(`default: ${flag.default}`);
  return notes.length === 0 ? flag.help : `${flag.help} (${notes.join('; ')})`;
}

function examplesSection(examples: readonly string[] | undefined): string {
  return examples && examples.length > 0 ? `examples:\n${examples.map((line) => `  ${line}`).join('\n')}` : '';
}

function joinSections(sections: readonly string[]): string {
  return `${sections.filter((section) => section !== '').join('\n\n')}\n`;
}

/** Two columns: the left one indented by 2, the right one wrapped and aligned. */
function table(rows: readonly { left: string; right: string }[], width: number): string {
  const fitting = rows.map((row) => row.left.length).filter((length) => length <= MAX_FLAG_COLUMN);
  const column = 2 + Math.max(0, ...fitting) + 2;
  const indent = ' '.repeat(column);
  return rows
    .map(({ left, right }) => {
      const body = wrap(right, width, indent).slice(column);
      const head = `  ${left}`;
      return head.length + 2 <= column ? head.padEnd(column) + body : `${head}\n${indent}${body}`;
    })
    .join('\n');
}

/** Wraps each blank-line-separated paragraph of `text` on its own. */
function paragraphs(text: string, width: number): string {
  return text
    .split(/\n\s*\n/)
    .map((paragraph) => wrap(paragraph, width, ''))
    .filter((paragraph) => paragraph !== '')
    .join('\n\n');
}

/** Greedy word wrap; every line starts with `indent`. A word longer than a line gets a line of its own. */
export function wrap(text: string, width: number, indent: string): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line !== '' && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  lines.push(indent + line);
  return lines.join('\n');
}
