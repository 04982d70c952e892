/** `vqvae eval`: reconstruction error and codebook use of a trained model on a data split. */
import { evaluate } from '../train/evaluate.js';
import { defineCommand } from './command.js';
import { backendFlag, DATA_HELP, info, limitFlag, modelFlag, openModelAndData, resizeFlag, splitFlag } from './common.js';
import { jsonFlag } from './flags.js';

export const evalCommand = defineCommand({
  name: 'eval',
  summary: 'measure reconstruction error and codebook use',
  description:
    'Reconstructs a data split through a trained model and reports the mean squared error per pixel ' +
    '(pixels scaled to [0, 1], reconstructions clipped to that range), the PSNR, the perplexity of ' +
    'code usage and how many codes are used. Changes nothing in the model.',
  usage: '[--model DIR] [--data SPEC] [flags]',
  flags: [
    modelFlag,
    { name: 'data', type: 'string', metavar: 'SPEC', help: `${DATA_HELP} (default: the data the model was trained on)` },
    splitFlag,
    limitFlag,
    { name: 'batch', type: 'int', min: 1, default: 256, metavar: 'N', help: 'images per forward pass' },
    resizeFlag,
    backendFlag,
    jsonFlag,
  ],
  examples: ['vqvae eval --model runs/fashion --data fashion-mnist --json', 'vqvae eval --model runs/mnist --split train --limit 1000'],
  async run(flags, ctx) {
    const { loaded, data } = await openModelAndData(flags, ctx);
    const progress = ctx.progress({ total: data.count, label: 'image' });
    const m = evaluate(loaded.vqvae, data, { batch: flags.batch, onProgress: (done) => progress.update(done) });
    progress.stop();
    info(ctx, `${data.spec} (${flags.split}, ${m.images} images)`);
    info(ctx, `  mse         ${m.mse.toFixed(6)}`);
    info(ctx, `  psnr        ${m.psnrDb.toFixed(2)} dB`);
    info(ctx, `  perplexity  ${m.perplexity.toFixed(1)} of ${loaded.model.codebookSize} codes`);
    info(ctx, `  codes used  ${m.codesUsed}`);
    ctx.printJson({ mse: m.mse, psnr_db: m.psnrDb, perplexity: m.perplexity, codes_used: m.codesUsed, images: m.images });
    loaded.vqvae.dispose();
  },
});
