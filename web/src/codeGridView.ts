/**
 * A decoded image with its code grid drawn over it: one cell per code
 * (4x4 pixels of a 28x28 image for a 7x7 grid), the code's index written in
 * the cell, edited cells outlined in orange and the selected one in blue.
 * Clicking a cell reports its raster index (row * gridWidth + column).
 */
import { drawPixels } from './images.js';

export interface GridPicture {
  pixels: Uint8Array;
  size: { height: number; width: number; channels: number };
  codes: Int32Array;
  gridHeight: number;
  gridWidth: number;
  /** Cells whose code the user changed. */
  edited?: ReadonlySet<number>;
  selected?: number;
  /** Cells filled so far (for a grid being sampled); the rest are drawn empty. */
  filled?: number;
}

export class CodeGridView {
  showGrid = true;
  private picture: GridPicture | undefined;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    onCell?: (cell: number) => void,
  ) {
    if (onCell) {
      canvas.addEventListener('click', (e) => {
        const p = this.picture;
        if (!p) return;
        const rect = canvas.getBoundingClientRect();
        const col = Math.floor(((e.clientX - rect.left) / rect.width) * p.gridWidth);
        const row = Math.floor(((e.clientY - rect.top) / rect.height) * p.gridHeight);
        if (row >= 0 && row < p.gridHeight && col >= 0 && col < p.gridWidth) onCell(row * p.gridWidth + col);
      });
    }
  }

  draw(picture: GridPicture): void {
    this.picture = picture;
    this.redraw();
  }

  redraw(): void {
    const p = this.picture;
    if (!p) return;
    const ctx = this.canvas.getContext('2d')!;
    const { width, height } = this.canvas;
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, width, height);
    drawPixels(ctx, p.pixels, p.size, [0, 0, width, height]);
    const cw = width / p.gridWidth;
    const ch = height / p.gridHeight;
    const cells = p.gridHeight * p.gridWidth;
    const filled = p.filled ?? cells;
    if (filled < cells) {
      ctx.fillStyle = 'rgba(40, 40, 40, 0.85)';
      for (let i = filled; i < cells; i++) ctx.fillRect((i % p.gridWidth) * cw, Math.floor(i / p.gridWidth) * ch, cw, ch);
    }
    if (!this.showGrid) return;
    ctx.strokeStyle = 'rgba(255, 210, 0, 0.45)';
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (let c = 1; c < p.gridWidth; c++) {
      ctx.moveTo(Math.round(c * cw) + 0.5, 0);
      ctx.lineTo(Math.round(c * cw) + 0.5, height);
    }
    for (let r = 1; r < p.gridHeight; r++) {
      ctx.moveTo(0, Math.round(r * ch) + 0.5);
      ctx.lineTo(width, Math.round(r * ch) + 0.5);
    }
    ctx.stroke();
    ctx.font = `${Math.max(8, Math.min(13, cw / 3))}px ui-monospace, monospace`;
    ctx.textBaseline = 'top';
    for (let i = 0; i < Math.min(filled, cells); i++) {
      const x = (i % p.gridWidth) * cw;
      const y = Math.floor(i / p.gridWidth) * ch;
      ctx.fillStyle = 'rgba(0, 0, 0, 0.55)';
      const label = String(p.codes[i]);
      ctx.fillRect(x + 1, y + 1, ctx.measureText(label).width + 4, Math.min(13, cw / 3) + 3);
      ctx.fillStyle = '#ffd200';
      ctx.fillText(label, x + 3, y + 2);
      if (p.edited?.has(i) || p.selected === i) {
        ctx.strokeStyle = p.selected === i ? '#0a84ff' : '#ff8a00';
        ctx.lineWidth = 3;
        ctx.strokeRect(x + 1.5, y + 1.5, cw - 3, ch - 3);
      }
    }
  }
}
