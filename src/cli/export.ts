/**
 * `vqvae export`: a trained model (and its prior) as the web page loads it:
 * config.json + weights.safetensors without optimizer state, a batch of
 * example images for the codebook's usage view, and prior/ (export/web.ts).
 * With --onnx: encoder.onnx, decoder.onnx (and prior.onnx) for onnxruntime
 * and other ONNX tools instead (export/onnx/export.ts).
 */
import { selectBackend } from '../backend/select.js';
import { join } from 'node:path';
import type { ImageDataset } from '../data/dataset.js';
import { isUserError } from '../errors.js';
import { exportOnnx } from '../export/onnx/export.js';
import {
  checkExportTarget, checkPrior, exportAudioExamples, exportExamples, exportModelFiles, exportPrior, listFiles, loadAudioExamples, loadWebModel, removeStale,
} from '../export/web.js';
import { defineCommand, type CommandContext } from './command.js';
import { checkDataFitsModel, checkDataFlag, DATA_HELP, info, loadData } from './common.js';
import { jsonFlag, UsageError } from './flags.js';

export const exportCommand = defineCommand({
  name: 'export',
  summary: 'write a trained model (and prior) for the web page, or as ONNX',
  description:
    'Writes a model directory the web page (`vqvae serve`) loads: config.json and weights.safetensors ' +
    'without the optimizer state, examples.safetensors (test images the page counts code usage on) and, ' +
    'with --prior, prior/. The format is the one `vqvae train` writes, so every command reads it too. ' +
    'One-level, two-level (--levels 2) and audio models all go to the page (an audio model with its first test ' +
    'utterances as examples); --prior only with a one-level model with one code per cell.\n\n' +
    'With --onnx, writes instead encoder.onnx (raw uint8 pixels [N, H, W, C] to int32 code indices [N, h, w], ' +
    'the pixel scaling inside the graph) and decoder.onnx (int32 indices to uint8 pixels [N, H, W, C], ' +
    'plus a float32 output `reconstruction` in the model scale pixels/255 - 0.5), opset 17, ' +
    'for onnxruntime and other ONNX tools; with --prior also prior.onnx: int32 codes [N, h, w] ' +
    '(and int32 labels [N] for a class-conditional prior) to float32 logits [N, h, w, K]. ' +
    'For a two-level model (vqvae train --levels 2) encoder.onnx outputs indices_top int32 [N, ht, wt] and ' +
    'indices_bottom int32 [N, hb, wb] and decoder.onnx takes both (no prior.onnx yet).',
  usage: '--model DIR --out DIR [--onnx] [flags]',
  flags: [
    { name: 'onnx', type: 'boolean', help: 'write ONNX files (encoder.onnx, decoder.onnx, prior.onnx with --prior) instead of the web model' },
    { name: 'model', type: 'string', required: true, metavar: 'DIR', help: 'model directory written by `vqvae train`' },
    { name: 'prior', type: 'string', metavar: 'DIR', help: 'prior directory written by `vqvae prior train`, for sampling in the page' },
    { name: 'out', type: 'string', required: true, metavar: 'DIR', help: 'directory to write (created if needed)' },
    { name: 'data', type: 'string', metavar: 'SPEC', help: `${DATA_HELP}, for the example images (default: what the model was trained on; not with --onnx)` },
    { name: 'examples', type: 'int', min: 0, max: 10000, default: 256, metavar: 'N', help: 'test images to include (an audio model: test utterances, at most 4, each cut to 4 s; 0: none; not with --onnx)' },
    jsonFlag,
  ],
  examples: [
    'vqvae export --model runs/mnist --out web-model',
    'vqvae export --model runs/mnist --prior runs/mnist-prior --out web-model',
    'vqvae export --onnx --model runs/mnist --out runs/mnist/onnx',
    'vqvae export --onnx --model runs/cifar-2 --out runs/cifar-2/onnx',
  ],
  async run(flags, ctx) {
    if (!flags.onnx) {
      await exportWeb(flags, ctx);
      return;
    }
    if (flags.data !== undefined) throw new UsageError('--data is for the web export; --onnx writes no example images');
    const { files } = await exportOnnx({ modelDir: flags.model, outDir: flags.out, priorDir: flags.prior });
    for (const file of files) info(ctx, `wrote ${file}`);
    ctx.printJson({ files });
  },
});

interface WebExportFlags {
  model: string;
  prior: string | undefined;
  out: string;
  data: string | undefined;
  examples: number;
}

async function exportWeb(flags: WebExportFlags, ctx: CommandContext): Promise<void> {
  checkDataFlag(flags.data);
  checkExportTarget(flags.out, flags.prior ? [flags.model, flags.prior] : [flags.model]);
  await selectBackend('cpu'); // only to hold the weights: export does no math
  const loaded = loadWebModel(flags.model); // one-level, two-level or audio
  try {
    // Everything is read and checked before the first file is written.
    const prior = flags.prior ? checkPrior(flags.prior, loaded) : undefined;
    const spec = flags.data ?? loaded.training?.data;
    let data: ImageDataset | undefined;
    let audio: ReturnType<typeof loadAudioExamples> | undefined;
    if (flags.examples > 0 && spec) {
      try {
        if (loaded.audio) {
          audio = loadAudioExamples(spec, loaded.audio, flags.examples);
        } else {
          data = await loadData(spec, { split: 'test', limit: flags.examples, resize: loaded.training?.resize }, ctx);
          checkDataFitsModel(data, loaded.image!, flags.model);
        }
      } catch (error) {
        // The training data may be gone; examples are a nicety unless asked for by name.
        if (flags.data !== undefined || !isUserError(error)) throw error;
        ctx.warn(`no examples: ${error.message}`);
        data = undefined;
      }
    }
    exportModelFiles(loaded, flags.out);
    const examples = data ? exportExamples(data, flags.examples, flags.out) : audio ? exportAudioExamples(audio, loaded.audio!.sampleRate, flags.out) : 0;
    if (prior) exportPrior(prior, flags.out);
    removeStale(flags.out, { examples: examples > 0, prior: prior !== undefined });
    const files = listFiles(flags.out);
    const bytes = files.reduce((sum, f) => sum + f.bytes, 0);
    for (const f of files) info(ctx, `  ${join(flags.out, f.path)}  ${(f.bytes / 1024).toFixed(0)} KiB`);
    info(ctx, `wrote ${flags.out} (${(bytes / 1024 / 1024).toFixed(2)} MiB): open it with \`vqvae serve --model ${flags.out}\``);
    ctx.printJson({
      out: flags.out,
      files: files.map((f) => f.path),
      bytes,
      examples,
      prior: prior !== undefined,
      ...(prior ? { prior_classes: prior.numClasses } : {}),
    });
  } finally {
    loaded.dispose();
  }
}
