/**
 * Compact text for numbers, durations and metric fields in progress lines
 * and summaries.
 *
 *   formatNumber(0.012345)  // '0.01235'     formatNumber(312.44)  // '312.4'
 *   formatNumber(0.0002)    // '2e-4'        formatNumber(12345.6) // '12346'
 *   formatDuration(192)     // '3m12s'       formatDuration(7322)  // '2h02m'
 *   formatFields({ loss: 0.0123, ppl: 312.4, 'img/s': 250 })  // ['loss 0.0123', 'ppl 312.4', '250 img/s']
 */

/** Metric name → value, in display order. */
export type ProgressFields = Readonly<Record<string, number | string>>;

/** About four significant digits, no trailing zeros, exponent only for the very small or very large. */
export function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  const magnitude = Math.abs(value);
  if (magnitude >= 1e6 || (magnitude < 1e-3 && magnitude > 0)) return compactExponential(value);
  if (Number.isInteger(value)) return String(value);
  if (magnitude >= 1000) return String(Math.round(value));
  return stripZeros(value.toPrecision(4));
}

function compactExponential(value: number): string {
  const [mantissa, exponent] = value.toExponential(2).split('e');
  return `${stripZeros(mantissa)}e${Number(exponent)}`;
}

function stripZeros(text: string): string {
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
}

/** Seconds as `45s`, `3m12s`, `2h02m` or `3d04h`; `?` when unknown. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const total = Math.round(seconds);
  const pad = (n: number) => String(n).padStart(2, '0');
  if (total < 60) return `${total}s`;
  if (total < 3600) return `${Math.floor(total / 60)}m${pad(total % 60)}s`;
  if (total < 86400) return `${Math.floor(total / 3600)}h${pad(Math.floor(total / 60) % 60)}m`;
  return `${Math.floor(total / 86400)}d${pad(Math.floor(total / 3600) % 24)}h`;
}

/**
 * One `name value` string per field. A name with a slash is a unit and
 * follows its value: `{ 'img/s': 250 }` reads `250 img/s`.
 */
export function formatFields(fields: ProgressFields): string[] {
  return Object.entries(fields).map(([name, value]) => {
    const text = typeof value === 'number' ? formatNumber(value) : value;
    return name.includes('/') ? `${text} ${name}` : `${name} ${text}`;
  });
}
