/**
 * `vqvae serve`: the web page and a model on a local address, until Ctrl-C.
 * The server only hands out files (serve/pageServer.ts); the browser runs the model.
 */
import { DEMO_MODEL_DIR, startPageServer } from '../serve/pageServer.js';
import { defineCommand } from './command.js';
import { info } from './common.js';
import { jsonFlag } from './flags.js';

export const serveCommand = defineCommand({
  name: 'serve',
  summary: 'serve the web page and a model on a local address',
  description:
    'Serves the page built into dist/web, with the model directory (written by `vqvae train` or ' +
    '`vqvae export`) at /model/ and its prior, if any, at /model/prior/. Listens on 127.0.0.1 ' +
    '(this machine only) unless --host says otherwise, and prints the address to open. Ctrl-C stops it.',
  usage: '[--model DIR] [flags]',
  flags: [
    { name: 'model', type: 'string', metavar: 'DIR', help: 'model directory (default: the bundled MNIST demo model)' },
    { name: 'prior', type: 'string', metavar: 'DIR', help: 'prior directory (default: DIR/prior of the model, if there)' },
    { name: 'host', type: 'string', default: '127.0.0.1', metavar: 'ADDR', help: 'address to listen on (0.0.0.0: every interface)' },
    { name: 'port', type: 'int', min: 0, max: 65535, default: 8080, metavar: 'N', help: 'port (0: any free one)' },
    jsonFlag,
  ],
  examples: ['vqvae serve', 'vqvae serve --model runs/mnist --port 8000'],
  async run(flags, ctx) {
    const server = await startPageServer({
      model: flags.model ?? DEMO_MODEL_DIR,
      ...(flags.prior !== undefined ? { prior: flags.prior } : {}),
      host: flags.host,
      port: flags.port,
    });
    info(ctx, `serving ${flags.model ?? 'the demo model'} at ${server.url}  (Ctrl-C stops)`);
    const signal = ctx.interruptSignal();
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    await server.close();
    info(ctx, 'stopped');
    ctx.printJson({ url: server.url, port: server.port });
  },
});
