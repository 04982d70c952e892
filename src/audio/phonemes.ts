/**
 * Phoneme discovery, measured as in VQ-VAE section 4.3: map each code to
 * the phone it most often lines up with on the train split, then score how
 * often that mapping names the right phone on the test split.
 *
 * Alignment: code frame f of an utterance covers samples [f * hop,
 * (f + 1) * hop); its phone is the one whose segment holds the frame's
 * centre sample. Frames whose centre lies outside every segment are not
 * scored. A code never seen on train maps to the most frequent train phone.
 *
 * Chance, reported next to the accuracy: always answering the most frequent
 * test phone (`majority`), and guessing uniformly among the phones seen
 * (`uniform`, 1 / number of phones).
 */
import type { PhoneSegment } from '../data/wav.js';

export interface CodedUtterance {
  /** Code index per frame. */
  readonly codes: ArrayLike<number>;
  readonly phones: readonly PhoneSegment[];
}

/** (code, phone) per scored frame. */
export function alignFrames(utterance: CodedUtterance, hop: number): Array<[number, string]> {
  const out: Array<[number, string]> = [];
  let s = 0;
  const phones = utterance.phones;
  for (let f = 0; f < utterance.codes.length; f++) {
    const centre = f * hop + hop / 2;
    while (s < phones.length && phones[s]!.end <= centre) s++;
    if (s < phones.length && phones[s]!.start <= centre) out.push([utterance.codes[f]!, phones[s]!.phone]);
  }
  return out;
}

export interface PhonemeAccuracy {
  /** Fraction of test frames whose code's phone is right. */
  accuracy: number;
  /** Most frequent test phone's share. */
  majority: number;
  /** 1 / distinct phones (train and test). */
  uniform: number;
  phones: number;
  trainFrames: number;
  testFrames: number;
  /** Codes seen on train. */
  codesMapped: number;
}

export function phonemeAccuracy(train: readonly CodedUtterance[], test: readonly CodedUtterance[], hop: number): PhonemeAccuracy {
  const counts = new Map<number, Map<string, number>>();
  const phoneCounts = new Map<string, number>();
  let trainFrames = 0;
  for (const u of train) {
    for (const [code, phone] of alignFrames(u, hop)) {
      const byPhone = counts.get(code) ?? new Map<string, number>();
      byPhone.set(phone, (byPhone.get(phone) ?? 0) + 1);
      counts.set(code, byPhone);
      phoneCounts.set(phone, (phoneCounts.get(phone) ?? 0) + 1);
      trainFrames++;
    }
  }
  const argmax = (m: Map<string, number>) => [...m].reduce((best, e) => (e[1] > best[1] || (e[1] === best[1] && e[0] < best[0]) ? e : best))[0];
  const fallback = phoneCounts.size > 0 ? argmax(phoneCounts) : '';
  const mapping = new Map([...counts].map(([code, m]) => [code, argmax(m)]));
  let right = 0;
  let testFrames = 0;
  const testPhones = new Map<string, number>();
  for (const u of test) {
    for (const [code, phone] of alignFrames(u, hop)) {
      if ((mapping.get(code) ?? fallback) === phone) right++;
      testPhones.set(phone, (testPhones.get(phone) ?? 0) + 1);
      testFrames++;
    }
  }
  const all = new Set([...phoneCounts.keys(), ...testPhones.keys()]);
  const majorityCount = testPhones.size > 0 ? Math.max(...testPhones.values()) : 0;
  return {
    accuracy: testFrames > 0 ? right / testFrames : 0,
    majority: testFrames > 0 ? majorityCount / testFrames : 0,
    uniform: all.size > 0 ? 1 / all.size : 0,
    phones: all.size,
    trainFrames,
    testFrames,
    codesMapped: mapping.size,
  };
}

/** How a set of code indices uses the codebook: distinct codes and the perplexity exp(H). */
export function codeUsage(codes: Iterable<number>, codebookSize: number): { used: number; perplexity: number; total: number } {
  const counts = new Float64Array(codebookSize);
  let total = 0;
  for (const c of codes) {
    counts[c]!++;
    total++;
  }
  let entropy = 0;
  let used = 0;
  for (const n of counts) {
    if (n === 0) continue;
    used++;
    const p = n / total;
    entropy -= p * Math.log(p);
  }
  return { used, perplexity: Math.exp(entropy), total };
}
