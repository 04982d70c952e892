/**
 * Band-limited resampling of mono audio: each output sample is the input
 * convolved with a Hann-windowed sinc low-pass centred on its position in
 * the input. The cutoff is the lower of the two Nyquist frequencies, so
 * downsampling (22050 Hz → 16000 Hz) removes what the new rate cannot hold
 * instead of folding it back as aliases. The kernel spans `halfWidth` zero
 * crossings of the cutoff on each side (16: about 0.1 dB ripple).
 */
export function resample(samples: Float32Array, fromRate: number, toRate: number, halfWidth = 16): Float32Array {
  if (!(fromRate > 0 && toRate > 0)) throw new Error(`sample rates must be positive, found ${fromRate} and ${toRate}`);
  if (fromRate === toRate) return samples.slice();
  const ratio = fromRate / toRate; // input samples per output sample
  const cutoff = Math.min(1, 1 / ratio); // in units of the input Nyquist
  const reach = halfWidth / cutoff; // kernel half length in input samples
  const n = Math.floor((samples.length * toRate) / fromRate);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const centre = i * ratio;
    const lo = Math.max(0, Math.ceil(centre - reach));
    const hi = Math.min(samples.length - 1, Math.floor(centre + reach));
    let acc = 0;
    for (let k = lo; k <= hi; k++) {
      const u = k - centre;
      const x = u * cutoff;
      const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
      const window = 0.5 + 0.5 * Math.cos((Math.PI * u) / reach);
      acc += samples[k]! * cutoff * sinc * window;
    }
    out[i] = acc;
  }
  return out;
}
