/**
 * A small speaker classifier, to measure voice conversion rather than only
 * listen to it: MFCCs summarised per utterance, then multinomial logistic
 * regression.
 *
 * MFCC (the usual recipe): 25 ms Hamming-windowed frames every 10 ms, the
 * power spectrum of a 512-point FFT, 26 triangular mel filters from 0 Hz to
 * Nyquist, log energies, DCT-II (orthonormal) → 13 coefficients. An
 * utterance is the mean and standard deviation of each coefficient over
 * its frames (26 numbers), standardised with the training set's statistics.
 *
 * Classifier: softmax regression, trained by full-batch gradient descent
 * with L2 penalty, in float64. Plain JavaScript: the data are a few hundred
 * vectors of 26 numbers.
 */
export interface MfccOptions {
  sampleRate: number;
  frame?: number;
  hop?: number;
  fftSize?: number;
  filters?: number;
  coefficients?: number;
}

/** mel(f) = 2595 log10(1 + f / 700). */
export function hzToMel(hz: number): number {
  return 2595 * Math.log10(1 + hz / 700);
}

export function melToHz(mel: number): number {
  return 700 * (10 ** (mel / 2595) - 1);
}

/** Triangular mel filters over the bins of an n-point FFT: [filters][n / 2 + 1]. */
export function melFilterbank(filters: number, fftSize: number, sampleRate: number): Float64Array[] {
  const bins = fftSize / 2 + 1;
  const top = hzToMel(sampleRate / 2);
  const edges = Array.from({ length: filters + 2 }, (_, i) => (melToHz((top * i) / (filters + 1)) * fftSize) / sampleRate);
  return Array.from({ length: filters }, (_, m) => {
    const [lo, mid, hi] = [edges[m]!, edges[m + 1]!, edges[m + 2]!];
    const row = new Float64Array(bins);
    for (let k = 0; k < bins; k++) {
      if (k > lo && k <= mid) row[k] = (k - lo) / (mid - lo);
      else if (k > mid && k < hi) row[k] = (hi - k) / (hi - mid);
    }
    return row;
  });
}

/** In-place iterative radix-2 FFT of (re, im), length a power of two. */
export function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j]!, re[i]!];
      [im[i], im[j]] = [im[j]!, im[i]!];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const angle = (-2 * Math.PI) / len;
    for (let i = 0; i < n; i += len) {
      for (let k = 0; k < len / 2; k++) {
        const wr = Math.cos(angle * k), wi = Math.sin(angle * k);
        const a = i + k, b = i + k + len / 2;
        const xr = re[b]! * wr - im[b]! * wi;
        const xi = re[b]! * wi + im[b]! * wr;
        re[b] = re[a]! - xr;
        im[b] = im[a]! - xi;
        re[a] = re[a]! + xr;
        im[a] = im[a]! + xi;
      }
    }
  }
}

/** MFCCs [frames][coefficients] of mono samples. */
export function mfcc(samples: Float32Array, options: MfccOptions): Float64Array[] {
  const rate = options.sampleRate;
  const frame = options.frame ?? Math.round(0.025 * rate);
  const hop = options.hop ?? Math.round(0.01 * rate);
  const n = options.fftSize ?? 512;
  const filters = options.filters ?? 26;
  const coefficients = options.coefficients ?? 13;
  const bank = melFilterbank(filters, n, rate);
  const window = Float64Array.from({ length: frame }, (_, i) => 0.54 - 0.46 * Math.cos((2 * Math.PI * i) / (frame - 1)));
  const out: Float64Array[] = [];
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  const logMel = new Float64Array(filters);
  for (let start = 0; start + frame <= samples.length; start += hop) {
    re.fill(0);
    im.fill(0);
    for (let i = 0; i < frame && i < n; i++) re[i] = samples[start + i]! * window[i]!;
    fft(re, im);
    for (let m = 0; m < filters; m++) {
      let e = 0;
      const row = bank[m]!;
      for (let k = 0; k <= n / 2; k++) if (row[k] !== 0) e += row[k]! * (re[k]! * re[k]! + im[k]! * im[k]!);
      logMel[m] = Math.log(e + 1e-10);
    }
    const c = new Float64Array(coefficients);
    for (let q = 0; q < coefficients; q++) {
      let acc = 0;
      for (let m = 0; m < filters; m++) acc += logMel[m]! * Math.cos((Math.PI * q * (m + 0.5)) / filters);
      c[q] = acc * Math.sqrt((q === 0 ? 1 : 2) / filters);
    }
    out.push(c);
  }
  return out;
}

/** Mean and standard deviation of each MFCC over the frames: one vector per utterance. */
export function utteranceFeatures(samples: Float32Array, sampleRate: number): Float64Array {
  const frames = mfcc(samples, { sampleRate });
  const q = frames[0]?.length ?? 13;
  const out = new Float64Array(2 * q);
  if (frames.length === 0) return out;
  for (const f of frames) for (let i = 0; i < q; i++) out[i] += f[i]! / frames.length;
  for (const f of frames) for (let i = 0; i < q; i++) out[q + i] += (f[i]! - out[i]!) ** 2 / frames.length;
  for (let i = 0; i < q; i++) out[q + i] = Math.sqrt(out[q + i]!);
  return out;
}

/**
 * How often each code occurs in an utterance's codes (a fraction per code,
 * [K]): the features of a classifier that asks how much speaker identity the
 * codes themselves carry.
 */
export function codeHistogram(codes: ArrayLike<number>, codebookSize: number): Float64Array {
  const out = new Float64Array(codebookSize);
  for (let i = 0; i < codes.length; i++) out[codes[i]!] += 1 / codes.length;
  return out;
}

export class SpeakerClassifier {
  private constructor(
    readonly classes: number,
    private readonly mean: Float64Array,
    private readonly scale: Float64Array,
    /** [classes][dims + 1], the last column the bias. */
    private readonly weights: Float64Array[],
  ) {}

  /** Fits on feature vectors and their speaker indices 0..classes-1. */
  static fit(features: readonly Float64Array[], labels: ArrayLike<number>, classes: number, options: { steps?: number; learningRate?: number; l2?: number } = {}): SpeakerClassifier {
    const dims = features[0]!.length;
    const n = features.length;
    const mean = new Float64Array(dims);
    const scale = new Float64Array(dims);
    for (const f of features) for (let i = 0; i < dims; i++) mean[i] += f[i]! / n;
    for (const f of features) for (let i = 0; i < dims; i++) scale[i] += (f[i]! - mean[i]!) ** 2 / n;
    for (let i = 0; i < dims; i++) scale[i] = Math.sqrt(scale[i]!) || 1;
    const x = features.map((f) => standardise(f, mean, scale));
    const weights = Array.from({ length: classes }, () => new Float64Array(dims + 1));
    const steps = options.steps ?? 500;
    const lr = options.learningRate ?? 0.5;
    const l2 = options.l2 ?? 1e-3;
    const grad = Array.from({ length: classes }, () => new Float64Array(dims + 1));
    for (let step = 0; step < steps; step++) {
      for (const g of grad) g.fill(0);
      for (let j = 0; j < n; j++) {
        const p = softmax(weights.map((w) => dot(w, x[j]!)));
        for (let c = 0; c < classes; c++) {
          const err = (p[c]! - (labels[j] === c ? 1 : 0)) / n;
          const g = grad[c]!;
          for (let i = 0; i < dims; i++) g[i] += err * x[j]![i]!;
          g[dims] += err;
        }
      }
      for (let c = 0; c < classes; c++) {
        const w = weights[c]!;
        for (let i = 0; i <= dims; i++) w[i] -= lr * (grad[c]![i]! + (i < dims ? l2 * w[i]! : 0));
      }
    }
    return new SpeakerClassifier(classes, mean, scale, weights);
  }

  /** Class probabilities of one feature vector. */
  probabilities(features: Float64Array): Float64Array {
    const x = standardise(features, this.mean, this.scale);
    return softmax(this.weights.map((w) => dot(w, x)));
  }

  predict(features: Float64Array): number {
    const p = this.probabilities(features);
    let best = 0;
    for (let c = 1; c < p.length; c++) if (p[c]! > p[best]!) best = c;
    return best;
  }
}

function standardise(f: Float64Array, mean: Float64Array, scale: Float64Array): Float64Array {
  return Float64Array.from(f, (v, i) => (v - mean[i]!) / scale[i]!);
}

/** w · [x; 1]. */
function dot(w: Float64Array, x: Float64Array): number {
  let acc = w[x.length]!;
  for (let i = 0; i < x.length; i++) acc += w[i]! * x[i]!;
  return acc;
}

function softmax(z: number[]): Float64Array {
  const max = Math.max(...z);
  const e = Float64Array.from(z, (v) => Math.exp(v - max));
  const total = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / total);
}
