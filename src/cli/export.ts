/**
 * `vqvae export --onnx --model DIR [--prior DIR] --out DIR`: a trained model
 * (and its prior) as ONNX files (encoder.onnx, decoder.onnx, prior.onnx; see
 * onnx/export.ts) for onnxruntime and other ONNX tools.
 */
import { exportOnnx } from '../onnx/export.js';
import { defineCommand } from './command.js';
import { info } from './common.js';
import { jsonFlag, UsageError } from './flags.js';

export const exportCommand = defineCommand({
  name: 'export',
  summary: 'write a trained model in a format other tools run (ONNX)',
  description:
    'With --onnx, writes encoder.onnx (raw uint8 pixels [N, H, W, C] to int32 code indices [N, h, w], ' +
    'the pixel scaling inside the graph) and decoder.onnx (int32 indices to uint8 pixels [N, H, W, C], ' +
    'plus a float32 output `reconstruction` in the model scale pixels/255 - 0.5) into --out, opset 17, ' +
    'for onnxruntime and other ONNX tools. With --prior, also prior.onnx: int32 codes [N, h, w] ' +
    '(and int32 labels [N] for a class-conditional prior) to float32 logits [N, h, w, K].',
  usage: '--onnx --model DIR [--prior DIR] --out DIR [flags]',
  flags: [
    { name: 'onnx', type: 'boolean', help: 'write ONNX files (encoder.onnx, decoder.onnx, prior.onnx with --prior)' },
    { name: 'model', type: 'string', required: true, metavar: 'DIR', help: 'model directory written by `vqvae train`' },
    { name: 'prior', type: 'string', metavar: 'DIR', help: 'prior directory written by `vqvae prior train`: also write prior.onnx' },
    { name: 'out', type: 'string', required: true, metavar: 'DIR', help: 'directory for the exported files (created if missing)' },
    jsonFlag,
  ],
  examples: [
    'vqvae export --onnx --model runs/mnist --out runs/mnist/onnx',
    'vqvae export --onnx --model runs/mnist --prior runs/mnist-prior --out runs/mnist/onnx',
  ],
  async run(flags, ctx) {
    if (!flags.onnx) throw new UsageError('choose the export format: --onnx');
    const { files } = await exportOnnx({ modelDir: flags.model, outDir: flags.out, priorDir: flags.prior });
    for (const file of files) info(ctx, `wrote ${file}`);
    ctx.printJson({ files });
  },
});
