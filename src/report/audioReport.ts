/**
 * The audio model's training report: one self-contained HTML file
 * (report.html in the model directory), like the image model's (html.ts,
 * whose chart it reuses): the run's settings, the curve of bits per sample,
 * each evaluation's line, and audio players - a test utterance, its
 * reconstruction, and the same codes decoded in other speakers' voices -
 * as data: URLs of 16-bit WAVs, so it plays from disk with no server.
 */
import { join } from 'node:path';
import { writeFileAtomicSync } from '../io/atomicWrite.js';
import { encodeWav } from '../io/wav.js';
import { lineChart } from './html.js';

export const AUDIO_REPORT_FILE = 'report.html';
const MAX_POINTS = 4000;

const escape = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export interface AudioClip {
  readonly label: string;
  readonly samples: Float32Array;
  readonly sampleRate: number;
}

export class AudioReport {
  private points: [number, number][] = [];
  private readonly lines: string[] = [];
  private clips: AudioClip[] = [];

  constructor(readonly title: string, readonly info: Record<string, string>) {}

  addStep(step: number, bitsPerSample: number): void {
    this.points.push([step, bitsPerSample]);
    if (this.points.length > MAX_POINTS) {
      // Halve the resolution: each pair of neighbours becomes its mean.
      const merged: [number, number][] = [];
      for (let i = 0; i + 1 < this.points.length; i += 2) {
        const [a, b] = [this.points[i]!, this.points[i + 1]!];
        merged.push([(a[0] + b[0]) / 2, (a[1] + b[1]) / 2]);
      }
      this.points = merged;
    }
  }

  addLine(line: string): void {
    this.lines.push(line);
  }

  setClips(clips: AudioClip[]): void {
    this.clips = clips;
  }

  render(): string {
    const rows = Object.entries(this.info).map(([k, v]) => `<tr><th>${escape(k)}</th><td>${escape(v)}</td></tr>`).join('');
    const players = this.clips
      .map((c) => {
        const url = `data:audio/wav;base64,${encodeWav(c.samples, c.sampleRate).toString('base64')}`;
        return `<figure><audio controls preload="none" src="${url}"></audio><figcaption>${escape(c.label)}</figcaption></figure>`;
      })
      .join('');
    return (
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(this.title)}</title>` +
      `<style>body{font:14px sans-serif;margin:2em;max-width:60em}th{text-align:left;padding-right:1em}figure{margin:1em 0}</style></head><body>` +
      `<h1>${escape(this.title)}</h1><table>${rows}</table>` +
      lineChart('training cross-entropy (bits per sample)', [{ label: 'bits per sample', color: '#1f77b4', points: this.points }]) +
      (this.lines.length > 0 ? `<h2>Evaluations</h2><ul>${this.lines.map((l) => `<li>${escape(l)}</li>`).join('')}</ul>` : '') +
      (players !== '' ? `<h2>Listen</h2>${players}` : '') +
      `</body></html>\n`
    );
  }

  write(dir: string): void {
    writeFileAtomicSync(join(dir, AUDIO_REPORT_FILE), this.render());
  }
}
