/**
 * `vqvae eval` on a two-level model (model/hierarchical.ts, `vqvae train
 * --levels 2`): the test MSE, PSNR and each level's code usage
 * (train/hierarchicalEvaluate.ts), and with --prior (its top prior) and
 * --bottom-prior (its bottom prior) each prior's NLL of the split's codes in
 * bits per code and, with both and the categorical likelihood, the bound in
 * bits per dimension (eval/levels.ts).
 */
import type { BackendChoice } from '../backend/select.js';
import { UserError } from '../errors.js';
import { loadLevelPriors, levelPriorFigures, type LevelCodes } from '../eval/levels.js';
import { checkDataFitsModel } from '../model/config.js';
import { loadHierarchicalModel } from '../model/hierarchicalFile.js';
import { evaluateHierarchical } from '../train/hierarchicalEvaluate.js';
import type { CommandContext } from './command.js';
import { info, loadData, parseResize, useBackend, type ModelDataFlags } from './common.js';

export interface TwoLevelEvalFlags extends ModelDataFlags {
  prior?: string;
  bottomPrior?: string;
  batch: number;
}

/** `vqvae eval` of the two-level model in `modelDir`: prints the figures and the JSON summary. */
export async function evalTwoLevels(modelDir: string, flags: TwoLevelEvalFlags, ctx: CommandContext): Promise<void> {
  await useBackend(flags.backend as BackendChoice, ctx);
  const { vqvae, training } = loadHierarchicalModel(modelDir);
  try {
    const spec = flags.data ?? training?.data;
    if (!spec) throw new UserError(`--data is needed: ${modelDir} does not record the data it was trained on`);
    const data = await loadData(spec, { split: flags.split, limit: flags.limit, resize: parseResize(flags.resize) ?? training?.resize }, ctx);
    checkDataFitsModel(data, vqvae.config.model, modelDir);
    const priors = await loadLevelPriors(vqvae, modelDir, flags, data);
    try {
      const grids = vqvae.grids;
      const codes: LevelCodes = { top: new Int32Array(data.count * grids.top[0] * grids.top[1]), bottom: new Int32Array(data.count * grids.bottom[0] * grids.bottom[1]) };
      const progress = ctx.progress({ total: data.count, label: 'image' });
      const m = evaluateHierarchical(vqvae, data, {
        batch: flags.batch,
        onProgress: (done) => progress.update(done),
        onIndices: (start, top, bottom) => {
          codes.top.set(top, start * grids.top[0] * grids.top[1]);
          codes.bottom.set(bottom, start * grids.bottom[0] * grids.bottom[1]);
        },
      });
      progress.stop();
      const Kt = vqvae.config.top.codebookSize;
      const Kb = vqvae.config.model.codebookSize;
      info(ctx, `${data.spec} (${flags.split}, ${m.images} images), two levels: top ${grids.top.join('x')} of ${Kt} codes, bottom ${grids.bottom.join('x')} of ${Kb}`);
      info(ctx, `  mse         ${m.mse.toFixed(6)}`);
      info(ctx, `  psnr        ${m.psnrDb.toFixed(2)} dB`);
      info(ctx, `  codes used  top ${m.top.codesUsed} of ${Kt} (perplexity ${m.top.perplexity.toFixed(1)}), bottom ${m.bottom.codesUsed} of ${Kb} (perplexity ${m.bottom.perplexity.toFixed(1)})`);
      const summary: Record<string, number> = {
        mse: m.mse, psnr_db: m.psnrDb, images: m.images,
        top_codes_used: m.top.codesUsed, top_perplexity: m.top.perplexity, bottom_codes_used: m.bottom.codesUsed, bottom_perplexity: m.bottom.perplexity,
      };
      if (m.reconstructionNats !== undefined) {
        info(ctx, `  -log p(x|z) ${(m.reconstructionNats / Math.LN2).toFixed(4)} bits per dimension`);
        summary['reconstruction_bits_per_dim'] = m.reconstructionNats / Math.LN2;
      }
      if (priors.top || priors.bottom) {
        const scoring = ctx.progress({ total: data.count * ((priors.top ? 1 : 0) + (priors.bottom ? 1 : 0)), label: 'grid' });
        const offset = { top: 0, bottom: priors.top ? data.count : 0 };
        const figures = levelPriorFigures(vqvae, priors, data, codes, m.reconstructionNats, (level, done) => scoring.update(offset[level] + done));
        scoring.stop();
        for (const level of ['top', 'bottom'] as const) {
          const nll = figures[level];
          if (!nll) continue;
          const K = level === 'top' ? Kt : Kb;
          info(ctx, `  ${level} prior NLL ${nll.bitsPerCode.toFixed(4)} bits per code (uniform: log2 ${K} = ${Math.log2(K).toFixed(3)})`);
          summary[`${level}_prior_bits_per_code`] = nll.bitsPerCode;
          summary[`${level}_uniform_bits_per_code`] = Math.log2(K);
        }
        if (figures.bitsPerDim !== undefined) {
          info(ctx, `  bound       ${figures.bitsPerDim.toFixed(4)} bits per dimension (-log p(x|z) - log p(z_t) - log p(z_b|z_t))`);
          summary['bits_per_dim'] = figures.bitsPerDim;
        }
      }
      ctx.printJson(summary);
    } finally {
      priors.top?.dispose();
      priors.bottom?.dispose();
    }
  } finally {
    vqvae.dispose();
  }
}
