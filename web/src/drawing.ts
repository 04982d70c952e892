/**
 * The drawing pad: a canvas the user draws on with the mouse, pen or finger
 * (light strokes on black, as MNIST digits are), or drops an image on. It
 * hands the picture to the model as bytes [H, W, C] at the model's size,
 * averaging the big canvas down (the browser's smooth scaling).
 */
export class DrawingPad {
  private drawing = false;
  private last: [number, number] | undefined;
  /** Called while strokes are drawn (at most once per animation frame) and after an image is dropped. */
  onChange: () => void = () => {};
  /** Called when a stroke starts, with performance.now(). */
  onStrokeStart: (time: number) => void = () => {};
  private scheduled = false;

  constructor(private readonly canvas: HTMLCanvasElement) {
    this.clear();
    canvas.addEventListener('pointerdown', (e) => {
      this.drawing = true;
      this.onStrokeStart(performance.now());
      canvas.setPointerCapture(e.pointerId);
      this.last = this.point(e);
      this.stroke(this.last, this.last);
    });
    canvas.addEventListener('pointermove', (e) => {
      if (!this.drawing) return;
      const p = this.point(e);
      this.stroke(this.last ?? p, p);
      this.last = p;
    });
    const end = (): void => {
      this.drawing = false;
      this.last = undefined;
    };
    canvas.addEventListener('pointerup', end);
    canvas.addEventListener('pointercancel', end);
    canvas.addEventListener('dragover', (e) => {
      e.preventDefault();
      canvas.classList.add('dragover');
    });
    canvas.addEventListener('dragleave', () => canvas.classList.remove('dragover'));
    canvas.addEventListener('drop', (e) => {
      e.preventDefault();
      canvas.classList.remove('dragover');
      const file = e.dataTransfer?.files[0];
      if (file) void this.loadImage(file);
    });
  }

  /** True while a stroke is being drawn. */
  get isDrawing(): boolean {
    return this.drawing;
  }

  private get ctx(): CanvasRenderingContext2D {
    return this.canvas.getContext('2d', { willReadFrequently: true })!;
  }

  clear(): void {
    this.ctx.fillStyle = '#000';
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.changed();
  }

  private point(e: PointerEvent): [number, number] {
    const rect = this.canvas.getBoundingClientRect();
    return [((e.clientX - rect.left) * this.canvas.width) / rect.width, ((e.clientY - rect.top) * this.canvas.height) / rect.height];
  }

  private stroke(from: [number, number], to: [number, number]): void {
    const ctx = this.ctx;
    ctx.strokeStyle = '#fff';
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.lineWidth = this.canvas.width / 12;
    ctx.beginPath();
    ctx.moveTo(from[0], from[1]);
    ctx.lineTo(to[0], to[1]);
    ctx.stroke();
    this.changed();
  }

  private changed(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      this.onChange();
    });
  }

  /**
   * Draws an image file onto the pad, fitted and centred. A mostly light
   * picture (dark ink on paper) is inverted, since the demo model saw light
   * digits on black.
   */
  async loadImage(file: File): Promise<void> {
    const bitmap = await createImageBitmap(file);
    const { width, height } = this.canvas;
    const scale = Math.min(width / bitmap.width, height / bitmap.height);
    const w = bitmap.width * scale;
    const h = bitmap.height * scale;
    const ctx = this.ctx;
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, width, height);
    ctx.drawImage(bitmap, (width - w) / 2, (height - h) / 2, w, h);
    const data = ctx.getImageData(0, 0, width, height);
    let sum = 0;
    for (let i = 0; i < data.data.length; i += 4) sum += data.data[i]! + data.data[i + 1]! + data.data[i + 2]!;
    if (sum / (data.data.length / 4) / 3 > 127) {
      for (let i = 0; i < data.data.length; i += 4) {
        for (let c = 0; c < 3; c++) data.data[i + c] = 255 - data.data[i + c]!;
      }
      ctx.putImageData(data, 0, 0);
    }
    this.changed();
  }

  /** The picture at the model's size: bytes [height, width, channels] (grey = mean of R, G, B). */
  pixels(height: number, width: number, channels: number): Uint8Array {
    const small = document.createElement('canvas');
    small.width = width;
    small.height = height;
    const ctx = small.getContext('2d', { willReadFrequently: true })!;
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(this.canvas, 0, 0, width, height);
    const rgba = ctx.getImageData(0, 0, width, height).data;
    const out = new Uint8Array(height * width * channels);
    for (let p = 0; p < height * width; p++) {
      if (channels === 1) out[p] = Math.round((rgba[4 * p]! + rgba[4 * p + 1]! + rgba[4 * p + 2]!) / 3);
      else for (let c = 0; c < 3; c++) out[3 * p + c] = rgba[4 * p + c]!;
    }
    return out;
  }
}
