/**
 * The top-level `vqvae` commands, in the order `vqvae --help` lists them.
 * A group (`defineGroup`) adds a level: `vqvae prior train`.
 */

import type { AnyCommand } from './command.js';
import { convertCommand } from './convert.js';
import { decodeCommand } from './decode.js';
import { encodeCommand } from './encode.js';
import { evalCommand } from './eval.js';
import { exportCommand } from './export.js';
import { importCommand } from './import.js';
import { priorCommand } from './prior.js';
import { reconstructCommand } from './reconstruct.js';
import { sampleCommand } from './sample.js';
import { serveCommand } from './serve.js';
import { trainCommand } from './train.js';

export const commands: readonly AnyCommand[] = [
  trainCommand,
  evalCommand,
  encodeCommand,
  decodeCommand,
  reconstructCommand,
  convertCommand,
  priorCommand,
  sampleCommand,
  exportCommand,
  importCommand,
  serveCommand,
];
