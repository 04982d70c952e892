/**
 * Bilinear resizing of one image of bytes, [height, width, channels]
 * row-major, to [outHeight, outWidth, channels].
 *
 * Pixel centres are aligned the way OpenCV's INTER_LINEAR and TensorFlow's
 * `resizeBilinear(halfPixelCenters: true)` align them: output pixel x samples
 * source position (x + 0.5) * inWidth / outWidth - 0.5, clamped to the edge.
 * Example: a row [0, 255] resized to 4 samples 0, 0.25, 0.75, 1 (after
 * clamping) and becomes [0, 64, 191, 255]. No anti-aliasing on shrinking.
 */

export function resizeBilinear(
  source: Uint8Array,
  height: number,
  width: number,
  channels: number,
  outHeight: number,
  outWidth: number,
): Uint8Array {
  const out = new Uint8Array(outHeight * outWidth * channels);
  const ys = samplePositions(height, outHeight);
  const xs = samplePositions(width, outWidth);
  for (let oy = 0; oy < outHeight; oy++) {
    const { low: y0, high: y1, weight: wy } = ys[oy];
    for (let ox = 0; ox < outWidth; ox++) {
      const { low: x0, high: x1, weight: wx } = xs[ox];
      const p00 = (y0 * width + x0) * channels;
      const p01 = (y0 * width + x1) * channels;
      const p10 = (y1 * width + x0) * channels;
      const p11 = (y1 * width + x1) * channels;
      const o = (oy * outWidth + ox) * channels;
      for (let c = 0; c < channels; c++) {
        const top = source[p00 + c] + (source[p01 + c] - source[p00 + c]) * wx;
        const bottom = source[p10 + c] + (source[p11 + c] - source[p10 + c]) * wx;
        out[o + c] = Math.round(top + (bottom - top) * wy);
      }
    }
  }
  return out;
}

interface Sample {
  /** Source index at or before the position. */
  readonly low: number;
  /** The next source index (equal to low at the edge). */
  readonly high: number;
  /** Weight of `high`, 0..1. */
  readonly weight: number;
}

/** Where each of `outSize` outputs samples a source axis of `inSize`. */
function samplePositions(inSize: number, outSize: number): Sample[] {
  const scale = inSize / outSize;
  return Array.from({ length: outSize }, (_, o) => {
    const position = Math.min(inSize - 1, Math.max(0, (o + 0.5) * scale - 0.5));
    const low = Math.floor(position);
    const high = Math.min(low + 1, inSize - 1);
    return { low, high, weight: position - low };
  });
}
