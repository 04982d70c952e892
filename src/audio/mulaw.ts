/**
 * mu-law companding (ITU-T G.711's continuous form, as WaveNet uses it, van
 * den Oord et al. 2016, section 2.2): a sample x in [-1, 1] maps to
 *
 *   f(x) = sign(x) * ln(1 + mu |x|) / ln(1 + mu),   mu = levels - 1 = 255
 *
 * and f(x) in [-1, 1] is quantized to one of `levels` (256) integer levels,
 * index = round((f(x) + 1) / 2 * mu). Decoding takes a level back to the
 * centre value of its bin, so decode(encode(x)) is within half a bin of x in
 * the companded domain: fine steps near 0, coarse ones near +-1.
 */
export const MU_LAW_LEVELS = 256;

/** The companded value f(x) in [-1, 1]; inputs outside [-1, 1] are clipped. */
export function muLawCompress(x: number, levels = MU_LAW_LEVELS): number {
  const mu = levels - 1;
  const c = Math.max(-1, Math.min(1, x));
  return Math.sign(c) * Math.log1p(mu * Math.abs(c)) / Math.log1p(mu);
}

/** The inverse of muLawCompress. */
export function muLawExpand(y: number, levels = MU_LAW_LEVELS): number {
  const mu = levels - 1;
  return Math.sign(y) * (Math.pow(1 + mu, Math.abs(y)) - 1) / mu;
}

/** Samples in [-1, 1] → levels 0..levels-1. */
export function muLawEncode(samples: ArrayLike<number>, levels = MU_LAW_LEVELS): Int32Array {
  const mu = levels - 1;
  const out = new Int32Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    out[i] = Math.round(((muLawCompress(samples[i]!, levels) + 1) / 2) * mu);
  }
  return out;
}

/** The sample value of one level. */
export function muLawLevelValue(level: number, levels = MU_LAW_LEVELS): number {
  return muLawExpand((level / (levels - 1)) * 2 - 1, levels);
}

/** Levels 0..levels-1 → samples in [-1, 1]. */
export function muLawDecode(codes: ArrayLike<number>, levels = MU_LAW_LEVELS): Float32Array {
  const table = muLawTable(levels);
  const out = new Float32Array(codes.length);
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i]!;
    if (!(Number.isInteger(c) && c >= 0 && c < levels)) throw new RangeError(`mu-law level ${c} at ${i} is outside 0..${levels - 1}`);
    out[i] = table[c]!;
  }
  return out;
}

const tables = new Map<number, Float32Array>();

/** The sample value of every level, [levels]. */
export function muLawTable(levels = MU_LAW_LEVELS): Float32Array {
  let table = tables.get(levels);
  if (table === undefined) {
    table = Float32Array.from({ length: levels }, (_, level) => muLawLevelValue(level, levels));
    tables.set(levels, table);
  }
  return table;
}
