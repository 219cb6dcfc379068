// Text for the report: HTML escaping (every user-provided string passes through
// it) and number formatting shared by tables and axis labels.

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Escapes text for HTML text content and quoted attribute values (SVG inline
 * in HTML too): a sample output of `<script>` shows as text and never runs.
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/** Drops trailing zeros of a decimal mantissa: "0.5000" → "0.5", "2.000e-5" → "2e-5". */
function trimZeros(s: string): string {
  const [mantissa, exponent] = s.split('e');
  let m = mantissa!;
  if (m.includes('.')) m = m.replace(/0+$/, '').replace(/\.$/, '');
  if (exponent === undefined) return m;
  return `${m}e${exponent.replace(/^\+/, '')}`;
}

/**
 * A number as a reader wants it in a table: integers in full, others with 4
 * significant digits (0.91667 → "0.9167"), exponent form outside
 * [1e-3, 1e6) ("1.5e-5"), and NaN/Infinity spelled out rather than hidden.
 */
export function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  if (Number.isInteger(value) && Math.abs(value) < 1e15) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude < 1e-3 || magnitude >= 1e6)) return trimZeros(value.toExponential(3));
  return trimZeros(value.toPrecision(4));
}

/**
 * An axis tick label. Linear ticks are multiples of `step`, so they are shown
 * with exactly the decimals the step needs (0.0, 0.2, 0.4 — not 0.4000000001).
 */
export function formatTick(value: number, step?: number): string {
  const magnitude = Math.abs(value);
  if (value !== 0 && (magnitude < 1e-3 || magnitude >= 1e6)) return trimZeros(value.toExponential(3));
  if (step === undefined) return formatNumber(value);
  const decimals = Math.max(0, Math.min(20, -Math.floor(Math.log10(step) + 1e-9)));
  return value.toFixed(decimals);
}
