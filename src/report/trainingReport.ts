/**
 * What `vqvae train` keeps for its HTML report (html.ts): the loss and
 * perplexity of every step (halved in resolution past MAX_POINTS, so a long
 * run stays small), and at each evaluation the test metrics, a PNG of test
 * images over their reconstructions, and how often each code was picked on
 * those images. The data rides inside report.html as JSON, so `--resume`
 * continues the curves of the earlier run.
 */
import fs from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../io/atomicWrite.js';
import { renderReport } from './html.js';

export const REPORT_FILE = 'report.html';
const MAX_POINTS = 4000;

/** One point of the training curves (a step, or the mean of merged neighbouring steps). */
export interface CurvePoint {
  step: number;
  loss: number;
  recon: number;
  perplexity: number;
  /** Distinct codes the step's batch used (absent in reports written before it was kept). */
  codesUsed?: number;
}

export interface Snapshot {
  step: number;
  mse: number;
  psnrDb: number;
  perplexity: number;
  codesUsed: number;
  images: number;
  /** Originals over reconstructions, as a data: URL (image/png). */
  grid: string;
  /** Times each code was picked on the first `usageImages` test images [K]. */
  usage: number[];
  usageImages: number;
  /** A two-level model's top level (then perplexity, codesUsed and usage are the bottom level's). */
  top?: { perplexity: number; codesUsed: number; usage: number[] };
}

export interface ReportData {
  title: string;
  /** Facts about the run, shown as a table (model sizes, data, batch...). */
  facts: Record<string, string | number>;
  curve: CurvePoint[];
  snapshots: Snapshot[];
}

export class TrainingReport {
  constructor(readonly data: ReportData) {}

  /** A new report, or the one in `dir/report.html` continued (on --resume) if it can be read. */
  static open(dir: string, title: string, facts: ReportData['facts'], resume: boolean): TrainingReport {
    const previous = resume ? readReportData(join(dir, REPORT_FILE)) : undefined;
    return new TrainingReport({ title, facts, curve: previous?.curve ?? [], snapshots: previous?.snapshots ?? [] });
  }

  addStep(point: CurvePoint): void {
    const curve = this.data.curve;
    // A resumed run repeats the steps after its last checkpoint: drop the stale ones.
    while (curve.length > 0 && curve.at(-1)!.step >= point.step) curve.pop();
    curve.push(point);
    if (curve.length > MAX_POINTS) this.data.curve = halve(curve);
  }

  addSnapshot(snapshot: Snapshot): void {
    this.data.snapshots = this.data.snapshots.filter((s) => s.step < snapshot.step);
    this.data.snapshots.push(snapshot);
  }

  /** Writes `dir/report.html` atomically. */
  write(dir: string): void {
    writeFileAtomicSync(join(dir, REPORT_FILE), renderReport(this.data));
  }
}

/** Neighbouring points merged in pairs (means), for a long run. */
function halve(curve: CurvePoint[]): CurvePoint[] {
  const out: CurvePoint[] = [];
  for (let i = 0; i < curve.length; i += 2) {
    const a = curve[i]!;
    const b = curve[i + 1];
    const codesUsed = a.codesUsed !== undefined && b?.codesUsed !== undefined ? { codesUsed: (a.codesUsed + b.codesUsed) / 2 } : {};
    out.push(b ? { step: b.step, loss: (a.loss + b.loss) / 2, recon: (a.recon + b.recon) / 2, perplexity: (a.perplexity + b.perplexity) / 2, ...codesUsed } : a);
  }
  return out;
}

/** The data inside a report.html written by renderReport, or undefined if there is none readable. */
export function readReportData(file: string): ReportData | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const match = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(text);
  if (!match) return undefined;
  try {
    const data = JSON.parse(match[1]!.replace(/\\u003c/g, '<')) as ReportData;
    return Array.isArray(data.curve) && Array.isArray(data.snapshots) ? data : undefined;
  } catch {
    return undefined;
  }
}
