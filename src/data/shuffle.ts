/**
 * A fixed, seeded shuffle: the same seed gives the same order on every
 * machine and Node version, because the generator is plain 32-bit integer
 * arithmetic (mulberry32, Tommy Ettinger's public-domain PRNG) rather than
 * Math.random. Used to split the `mnist` package's class-sorted digits into a
 * mixed train/test order.
 */

/** A generator of floats in [0, 1), from 32-bit state. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A permutation of 0..n-1 (Fisher-Yates, from the last position down). */
export function seededPermutation(n: number, seed: number): Uint32Array {
  const random = mulberry32(seed);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const swap = order[i];
    order[i] = order[j];
    order[j] = swap;
  }
  return order;
}
