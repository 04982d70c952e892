/**
 * The training report as one HTML file that needs nothing else: curves and
 * the usage histogram are inline SVG, image grids are data: URLs, and no
 * script runs (the data is embedded as JSON only so a resumed run can
 * continue it). Opens from disk in any browser, with no server and no network.
 */
import type { CurvePoint, ReportData, Snapshot } from './trainingReport.js';

const escape = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const fmt = (v: number): string => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(3));

interface Series {
  label: string;
  color: string;
  points: [number, number][];
}

/** A line chart of one or more series over steps, with axis labels, as SVG. */
export function lineChart(title: string, series: Series[], options: { log?: boolean } = {}): string {
  const width = 560;
  const height = 220;
  const m = { left: 56, right: 12, top: 24, bottom: 30 };
  const all = series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y) && (!options.log || y > 0));
  if (all.length === 0) return `<figure><figcaption>${escape(title)}: no data yet</figcaption></figure>`;
  const tx = (v: number): number => (options.log ? Math.log10(v) : v);
  const xs = all.map(([x]) => x);
  const ys = all.map(([, y]) => tx(y));
  const [x0, x1] = [Math.min(...xs), Math.max(...xs, Math.min(...xs) + 1)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (y1 - y0 < 1e-9) [y0, y1] = [y0 - 1, y1 + 1];
  const px = (x: number): number => m.left + ((x - x0) / (x1 - x0)) * (width - m.left - m.right);
  const py = (y: number): number => height - m.bottom - ((tx(y) - y0) / (y1 - y0)) * (height - m.top - m.bottom);
  const paths = series
    .map((s) => {
      const d = s.points
        .filter(([, y]) => Number.isFinite(y) && (!options.log || y > 0))
        .map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${px(x).toFixed(1)},${py(y).toFixed(1)}`)
        .join('');
      return `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.5"/>`;
    })
    .join('');
  const ticks = [0, 0.5, 1].map((f) => {
    const v = y0 + f * (y1 - y0);
    const value = options.log ? 10 ** v : v;
    const y = height - m.bottom - f * (height - m.top - m.bottom);
    return `<text x="${m.left - 6}" y="${y + 4}" text-anchor="end">${fmt(value)}</text><line x1="${m.left}" x2="${width - m.right}" y1="${y}" y2="${y}" stroke="#eee"/>`;
  });
  const xTicks = [x0, (x0 + x1) / 2, x1].map((v) => `<text x="${px(v)}" y="${height - 10}" text-anchor="middle">${Math.round(v)}</text>`);
  const legend = series
    .map((s, i) => `<text x="${m.left + 8 + i * 150}" y="14" fill="${s.color}">${escape(s.label)}</text>`)
    .join('');
  return (
    `<figure><svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escape(title)}">` +
    `${ticks.join('')}${paths}${xTicks.join('')}${legend}</svg>` +
    `<figcaption>${escape(title)}, by step${options.log ? ' (log scale)' : ''}</figcaption></figure>`
  );
}

/** Bars of code usage counts [K], as SVG. */
export function usageHistogram(usage: readonly number[], caption: string): string {
  const width = 560;
  const height = 140;
  const max = Math.max(1, ...usage);
  const bar = (width - 20) / Math.max(1, usage.length);
  const bars = usage
    .map((c, k) => {
      const h = (c / max) * (height - 30);
      return c > 0 ? `<rect x="${(10 + k * bar).toFixed(2)}" y="${(height - 18 - h).toFixed(1)}" width="${Math.max(0.8, bar - 0.5).toFixed(2)}" height="${h.toFixed(1)}" fill="#0a84ff"><title>code ${k}: ${c}</title></rect>` : '';
    })
    .join('');
  return (
    `<figure><svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="code usage">${bars}` +
    `<text x="10" y="${height - 4}">0</text><text x="${width - 10}" y="${height - 4}" text-anchor="end">${usage.length - 1}</text></svg>` +
    `<figcaption>${escape(caption)}</figcaption></figure>`
  );
}

function curveSeries(curve: CurvePoint[]): { loss: Series[]; perplexity: Series[] } {
  return {
    loss: [
      { label: 'loss', color: '#0a84ff', points: curve.map((p) => [p.step, p.loss]) },
      { label: 'reconstruction', color: '#ff8a00', points: curve.map((p) => [p.step, p.recon]) },
    ],
    perplexity: [{ label: 'perplexity (batch)', color: '#34a853', points: curve.map((p) => [p.step, p.perplexity]) }],
  };
}

/** Codes used over time: by each batch, and on the test images at each evaluation. */
function usageSeries(data: ReportData): Series[] {
  return [
    { label: 'codes used (batch)', color: '#34a853', points: data.curve.filter((p) => p.codesUsed !== undefined).map((p) => [p.step, p.codesUsed!]) },
    { label: topLevel(data) ? 'bottom codes used (test)' : 'codes used (test)', color: '#8e44ad', points: data.snapshots.map((s) => [s.step, s.codesUsed]) },
    ...(topLevel(data) ? [{ label: 'top codes used (test)', color: '#e67e22', points: data.snapshots.filter((s) => s.top).map((s) => [s.step, s.top!.codesUsed] as [number, number]) }] : []),
  ];
}

/** Whether the report's evaluations are a two-level model's. */
function topLevel(data: ReportData): boolean {
  return data.snapshots.some((s) => s.top);
}

function snapshotRow(s: Snapshot): string {
  const top = s.top ? `<td>${s.top.perplexity.toFixed(1)}</td><td>${s.top.codesUsed}</td>` : '';
  return `<tr><td>${s.step}</td><td>${s.mse.toFixed(5)}</td><td>${s.psnrDb.toFixed(2)}</td>${top}<td>${s.perplexity.toFixed(1)}</td><td>${s.codesUsed}</td><td>${s.images}</td></tr>`;
}

/** The evaluations' table; a two-level run's has each level's perplexity and codes used. */
function evaluationsTable(snapshots: Snapshot[]): string {
  if (snapshots.length === 0) return '<p>No evaluation yet.</p>';
  const levels = snapshots.some((s) => s.top);
  const usage = levels
    ? '<th>top perplexity</th><th>top codes used</th><th>bottom perplexity</th><th>bottom codes used</th>'
    : '<th>perplexity</th><th>codes used</th>';
  return `<table><tr><th>step</th><th>test MSE</th><th>PSNR dB</th>${usage}<th>images</th></tr>${snapshots.map(snapshotRow).join('')}</table>`;
}

/** The latest evaluation's usage histograms: one codebook, or a two-level model's top and bottom. */
function usageSection(s: Snapshot): string {
  if (!s.top) return `<h2>Codebook usage at step ${s.step}</h2>${usageHistogram(s.usage, usageCaption(s))}`;
  const top = { ...s, usage: s.top.usage };
  return `<h2>Codebook usage at step ${s.step}</h2>` +
    `${usageHistogram(s.top.usage, `Top level. ${usageCaption(top)}`)}${usageHistogram(s.usage, `Bottom level. ${usageCaption(s)}`)}`;
}

/** What the histogram shows, with the perplexity and codes used of those counts. */
export function usageCaption(s: Snapshot): string {
  const total = s.usage.reduce((a, b) => a + b, 0);
  let entropy = 0;
  for (const c of s.usage) if (c > 0) entropy -= (c / total) * Math.log(c / total);
  const used = s.usage.filter((c) => c > 0).length;
  return `How often each code (0 to ${s.usage.length - 1}) is picked on ${s.usageImages} test images: ${used} of ${s.usage.length} codes used, perplexity ${Math.exp(entropy).toFixed(1)}.`;
}

/** The whole report. */
export function renderReport(data: ReportData): string {
  const { loss, perplexity } = curveSeries(data.curve);
  const latest = data.snapshots.at(-1);
  const evalSeries: Series[] = [{ label: topLevel(data) ? 'bottom test perplexity' : 'test perplexity', color: '#8e44ad', points: data.snapshots.map((s) => [s.step, s.perplexity]) }];
  if (topLevel(data)) evalSeries.push({ label: 'top test perplexity', color: '#e67e22', points: data.snapshots.filter((s) => s.top).map((s) => [s.step, s.top!.perplexity]) });
  const json = JSON.stringify(data).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(data.title)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d1d1f; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 1.6rem; }
svg { font: 11px system-ui, sans-serif; background: #fff; border: 1px solid #ddd; max-width: 100%; height: auto; }
figure { margin: 0.6rem 1rem 0.6rem 0; display: inline-block; vertical-align: top; }
figcaption { color: #555; font-size: 0.85rem; }
table { border-collapse: collapse; } td, th { padding: 2px 10px; border-bottom: 1px solid #eee; text-align: right; }
th { text-align: left; } .facts td { text-align: left; }
.grid img { image-rendering: pixelated; border: 1px solid #ddd; }
</style></head><body>
<h1>${escape(data.title)}</h1>
<table class="facts">${Object.entries(data.facts).map(([k, v]) => `<tr><th>${escape(k)}</th><td>${escape(String(v))}</td></tr>`).join('')}</table>
<h2>Training curves</h2>
${lineChart('Training loss', loss, { log: true })}
${lineChart('Codebook perplexity of each batch', perplexity)}
${data.snapshots.length > 1 ? lineChart('Test perplexity at each evaluation', evalSeries) : ''}
${lineChart(`Codebook usage: codes used of ${latest?.usage.length ?? 'K'}${latest?.top ? ` (bottom) and ${latest.top.usage.length} (top)` : ''}`, usageSeries(data))}
<h2>Evaluations</h2>
${evaluationsTable(data.snapshots)}
${latest ? usageSection(latest) : ''}
${data.snapshots.length > 0 ? '<h2>Reconstructions over time</h2><p>Odd rows: test images; even rows: their reconstructions.</p>' : ''}
${[...data.snapshots].reverse().map((s) => `<figure class="grid"><img src="${s.grid}" alt="reconstructions at step ${s.step}"><figcaption>step ${s.step}</figcaption></figure>`).join('\n')}
<script type="application/json" id="report-data">${json}</script>
</body></html>
`;
}
