/**
 * The codebook panel: a bar per code for how often it is picked on a batch
 * of images (with perplexity and codes used), and a tile per code showing it
 * decoded alone. Tiles of unused codes are faded; clicking a tile picks it.
 */
import { drawPixels } from './images.js';
import { usageSummary } from './session.js';

export class CodebookView {
  private tiles: HTMLElement[] = [];

  constructor(
    private readonly usageCanvas: HTMLCanvasElement,
    private readonly caption: HTMLElement,
    private readonly tilesBox: HTMLElement,
    private readonly onPick: (code: number) => void,
  ) {}

  /** Bars of `counts` (one per code, index order), captioned with where they come from (and the level's name, if the model has several). */
  showUsage(counts: Int32Array, source: string, level?: string): void {
    const { perplexity, used, total } = usageSummary(counts);
    this.caption.textContent =
      `${level ? `${level[0]!.toUpperCase()}${level.slice(1)} codes: code` : 'Code'} usage on ${source} (${total} cells): ${used} of ${counts.length} codes used, perplexity ${perplexity.toFixed(1)}. ` +
      'Bars: how often each code (0 on the left) is picked.';
    const ctx = this.usageCanvas.getContext('2d')!;
    const { width, height } = this.usageCanvas;
    ctx.clearRect(0, 0, width, height);
    const max = Math.max(1, ...counts);
    const bar = width / counts.length;
    ctx.fillStyle = '#0a84ff';
    counts.forEach((c, k) => {
      const h = (c / max) * (height - 14);
      ctx.fillRect(k * bar, height - 12 - h, Math.max(1, bar - 1), h);
    });
    ctx.fillStyle = '#555';
    ctx.font = '10px system-ui, sans-serif';
    ctx.textBaseline = 'bottom';
    const step = Math.max(1, Math.ceil(counts.length / 16));
    for (let k = 0; k < counts.length; k += step) ctx.fillText(String(k), k * bar, height);
    this.tiles.forEach((tile, k) => tile.classList.toggle('unused', counts[k] === 0));
    this.tiles.forEach((tile, k) => (tile.title = `code ${k}: used ${counts[k]} times`));
  }

  /** Empties the tiles and makes `count` placeholders. */
  resetTiles(count: number): void {
    this.tilesBox.replaceChildren();
    this.tiles = [];
    for (let k = 0; k < count; k++) {
      const figure = document.createElement('figure');
      figure.dataset.code = String(k);
      const canvas = document.createElement('canvas');
      canvas.width = 28;
      canvas.height = 28;
      const label = document.createElement('figcaption');
      label.textContent = String(k);
      figure.append(canvas, label);
      figure.addEventListener('click', () => this.onPick(k));
      this.tilesBox.append(figure);
      this.tiles.push(figure);
    }
  }

  /** Draws decoded images [n, H, W, C] into tiles first..first+n-1. */
  drawTiles(first: number, pixels: Uint8Array, n: number, size: { height: number; width: number; channels: number }): void {
    const per = size.height * size.width * size.channels;
    for (let i = 0; i < n; i++) {
      const canvas = this.tiles[first + i]?.querySelector('canvas');
      if (!canvas) continue;
      canvas.width = size.width;
      canvas.height = size.height;
      drawPixels(canvas.getContext('2d')!, pixels.subarray(i * per, (i + 1) * per), size, [0, 0, size.width, size.height]);
    }
  }

  /** Outlines the tile of `code` (the selected cell's code), or none. */
  markCurrent(code: number | undefined): void {
    this.tiles.forEach((tile, k) => tile.classList.toggle('current', k === code));
  }
}
