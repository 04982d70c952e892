/**
 * `vqvae export --onnx --model DIR --out DIR`: a trained model as ONNX files
 * (encoder.onnx, decoder.onnx; see onnx/export.ts) for onnxruntime and other
 * ONNX tools.
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
    'for onnxruntime and other ONNX tools. The prior (--prior) cannot be exported to ONNX yet.',
  usage: '--onnx --model DIR --out DIR [flags]',
  flags: [
    { name: 'onnx', type: 'boolean', help: 'write ONNX files (encoder.onnx, decoder.onnx)' },
    { name: 'model', type: 'string', required: true, metavar: 'DIR', help: 'model directory written by `vqvae train`' },
    { name: 'prior', type: 'string', metavar: 'DIR', help: 'prior directory (not exportable to ONNX yet: an error)' },
    { name: 'out', type: 'string', required: true, metavar: 'DIR', help: 'directory for the exported files (created if missing)' },
    jsonFlag,
  ],
  examples: ['vqvae export --onnx --model runs/mnist --out runs/mnist/onnx'],
  async run(flags, ctx) {
    if (!flags.onnx) throw new UsageError('choose the export format: --onnx');
    const { files } = await exportOnnx({ modelDir: flags.model, outDir: flags.out, priorDir: flags.prior });
    for (const file of files) info(ctx, `wrote ${file}`);
    ctx.printJson({ files });
  },
});
