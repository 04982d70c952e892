/**
 * A small seeded pseudo-random generator (mulberry32, Tommy Ettinger's
 * public-domain PRNG: plain 32-bit integer arithmetic, so the same seed gives
 * the same numbers on every machine and Node version), so that the `mnist`
 * split, data order and weight initialisation repeat exactly for a seed.
 */
export type Rng = () => number;

/** Uniform floats in [0, 1) from a 32-bit seed. */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 31-bit integer seed for another generator (or for tfjs's seeded ops). */
export function nextSeed(rng: Rng): number {
  return Math.floor(rng() * 0x7fffffff);
}

/** A permutation of 0..n-1 (Fisher-Yates). */
export function permutation(n: number, rng: Rng): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}
