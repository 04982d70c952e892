#!/usr/bin/env node
/**
 * The `vqvae` executable (package.json `bin`: dist/src/cli/main.js): runs
 * the command line and sets the exit status. Everything testable lives in
 * cli.ts; this file only touches the process.
 */

import { processIO, runCli } from './cli.js';
import { commands } from './commands.js';

// `vqvae ... | head`: the reader left, so the output is no longer wanted. Stop quietly.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

process.exitCode = await runCli(process.argv.slice(2), processIO(), { commands });
