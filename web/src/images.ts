/** Drawing model images (bytes [H, W, C], C = 1 or 3) onto canvases, scaled up with crisp pixels. */

/** Bytes [H, W, C] → ImageData (grey is copied into R, G and B). */
export function toImageData(pixels: Uint8Array, height: number, width: number, channels: number): ImageData {
  const image = new ImageData(width, height);
  for (let p = 0; p < height * width; p++) {
    for (let c = 0; c < 3; c++) image.data[4 * p + c] = pixels[channels === 1 ? p : 3 * p + c]!;
    image.data[4 * p + 3] = 255;
  }
  return image;
}

/** Draws the image to fill the rectangle (x, y, w, h) of `ctx`, nearest-neighbour. */
export function drawPixels(
  ctx: CanvasRenderingContext2D,
  pixels: Uint8Array,
  size: { height: number; width: number; channels: number },
  rect: [number, number, number, number],
): void {
  const small = document.createElement('canvas');
  small.width = size.width;
  small.height = size.height;
  small.getContext('2d')!.putImageData(toImageData(pixels, size.height, size.width, size.channels), 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(small, ...rect);
}
