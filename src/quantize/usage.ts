/**
 * How a set of code indices uses the codebook, in float64: how many of the
 * K codes occur (and what fraction of K), how many never do (dead), and the
 * perplexity exp(-sum_k p_k ln p_k) of their frequencies. Perplexity grows
 * with the number of vectors it is counted over (a few vectors cannot reach
 * many codes), so `vqvae eval` counts over the whole split.
 */
export interface CodebookUsage {
  codesUsed: number;
  codesUsedFraction: number;
  deadCodes: number;
  perplexity: number;
}

/** Times each of the `k` codes occurs in `indices`, float64 [k]. */
export function countCodes(indices: ArrayLike<number>, k: number, into = new Float64Array(k)): Float64Array {
  for (let i = 0; i < indices.length; i++) into[indices[i]!]! += 1;
  return into;
}

export function codebookUsage(counts: ArrayLike<number>): CodebookUsage {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  let entropy = 0;
  let used = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (c > 0) {
      entropy -= (c / total) * Math.log(c / total);
      used += 1;
    }
  }
  return { codesUsed: used, codesUsedFraction: used / counts.length, deadCodes: counts.length - used, perplexity: Math.exp(entropy) };
}
