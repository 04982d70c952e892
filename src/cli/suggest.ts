/**
 * "Did you mean ...?" for mistyped flags and commands: the candidate with the
 * smallest Levenshtein distance, if it is close enough to be a plausible typo.
 *
 *   closest('stpes', ['steps', 'seed'])  // 'steps'
 *   closest('xyz', ['steps', 'seed'])    // undefined
 */

/** Edit distance: insertions, deletions and substitutions each cost 1. */
export function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j] + 1, current[j - 1] + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length];
}

/**
 * The candidate nearest to `input`, or undefined when none is near. "Near"
 * allows about one edit per three characters (at least 2, so a swapped pair
 * of letters is caught), and a unique candidate that `input` is a prefix of
 * (`--code` for `--code-dim`) also counts.
 */
export function closest(input: string, candidates: readonly string[]): string | undefined {
  const needle = input.toLowerCase();
  const limit = Math.max(2, Math.floor(needle.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = levenshtein(needle, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  if (best !== undefined && bestDistance <= limit && bestDistance < best.length) return best;
  if (needle.length >= 3) {
    const prefixed = candidates.filter((c) => c.toLowerCase().startsWith(needle));
    if (prefixed.length === 1) return prefixed[0];
  }
  return undefined;
}
