/**
 * `vqvae eval --prior TOP --bottom-prior BOTTOM` on a two-level model
 * (cli/twoLevels.ts evaluates it): each prior, checked to be for its level
 * of this model (prior/levels.ts), scored on the split's codes in bits per
 * code, and with both and the categorical likelihood the bound in bits per
 * dimension (eval/levels.ts).
 */
import { levelPriorFigures, loadLevelPriors } from '../eval/levels.js';
import type { CommandContext } from './command.js';
import { info } from './common.js';
import type { TwoLevelEvalExtension } from './twoLevels.js';

/** The extension of the two-level evaluation that scores the priors given, or undefined without any. */
export function levelPriorsExtension(modelDir: string, flags: { prior?: string; bottomPrior?: string }, ctx: CommandContext): TwoLevelEvalExtension | undefined {
  if (flags.prior === undefined && flags.bottomPrior === undefined) return undefined;
  return async ({ loaded, data, measured, summary }) => {
    const vqvae = loaded.vqvae;
    const priors = await loadLevelPriors(vqvae, modelDir, flags, data);
    try {
      const figures = levelPriorFigures(vqvae, priors, data, measured.codes, measured.metrics.reconstructionNats);
      const K = { top: vqvae.config.top.codebookSize, bottom: vqvae.config.model.codebookSize };
      for (const level of ['top', 'bottom'] as const) {
        const nll = figures[level];
        if (!nll) continue;
        const line = `  ${level} prior NLL ${nll.bitsPerCode.toFixed(4)} bits per code (uniform: log2 ${K[level]} = ${Math.log2(K[level]).toFixed(3)})`;
        info(ctx, line);
        summary[`${level}_prior_bits_per_code`] = nll.bitsPerCode;
        summary[`${level}_uniform_bits_per_code`] = Math.log2(K[level]);
      }
      if (figures.bitsPerDim !== undefined) {
        info(ctx, `  bound       ${figures.bitsPerDim.toFixed(4)} bits per dimension (-log p(x|z) - log p(z_t) - log p(z_b|z_t))`);
        summary['bits_per_dim'] = figures.bitsPerDim;
      }
    } finally {
      priors.top?.dispose();
      priors.bottom?.dispose();
    }
  };
}
