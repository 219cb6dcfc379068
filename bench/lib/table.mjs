// Markdown rendering of a bench report: machine line, measured limits, one
// row per case (ours next to the peer, speed ratio, bar, % of limit), notes.

/** @param {number | null | undefined} ms */
export function formatMs(ms) {
  if (ms == null || !Number.isFinite(ms)) return '—';
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 10) return ms.toFixed(1);
  if (ms >= 1) return ms.toFixed(2);
  return ms.toFixed(3);
}

/** @param {{value: number, unit: string} | null | undefined} rate */
export function formatRate(rate) {
  if (!rate || !Number.isFinite(rate.value)) return '—';
  const v = rate.value;
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${rate.unit}`;
}

/**
 * Two decimals, or three when two would round onto the bar's threshold
 * (0.996 against ≥ 1.0 must not read as a failing "1.00×").
 * @param {number | null | undefined} x @param {number} [threshold]
 */
export function formatRatio(x, threshold) {
  if (x == null || !Number.isFinite(x)) return '—';
  const digits = threshold != null && x !== threshold && x.toFixed(2) === threshold.toFixed(2) ? 3 : 2;
  return `${x.toFixed(digits)}×`;
}

/**
 * Whole percent, or one decimal where that would round onto the bar's
 * threshold (84.6% against ≥ 85% must not read as a failing "85%").
 * @param {number | null | undefined} x fraction of the limit @param {number} [threshold]
 */
function formatPct(x, threshold) {
  if (x == null || !Number.isFinite(x)) return '—';
  const digits = threshold != null && x !== threshold && (100 * x).toFixed(0) === (100 * threshold).toFixed(0) ? 1 : 0;
  return `${(100 * x).toFixed(digits)}%`;
}

/** The "ours" or "peer" cells: [time, rate]. */
function sideCells(side) {
  if (!side || side.status !== 'ok') return [side?.status ?? '—', '—'];
  return [`${formatMs(side.medianMs)} / ${formatMs(side.minMs)}`, formatRate(side.rate)];
}

function barCell(row) {
  return [row.bar, row.limitBar]
    .filter(Boolean)
    .map((bar) => `${bar.text}: ${bar.status}`)
    .join('; ');
}

// Pipes would split a cell.
const cell = (text) => String(text).replaceAll('|', '\\|');

/**
 * One markdown table, one line per row.
 * @param {import('./table.mjs').BenchRow[]} rows
 */
export function renderTable(rows) {
  const header = [
    'kernel',
    'shape',
    'ours ms (median / min)',
    'ours rate',
    'peer',
    'peer ms (median / min)',
    'peer rate',
    'speed vs peer',
    'bar',
    '% of limit (ours / peer)',
  ];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const row of rows) {
    const [oursMs, oursRate] = sideCells(row.ours);
    const [peerMs, peerRate] = sideCells(row.peer);
    const limit = row.limit
      ? `${formatPct(row.limit.oursFraction, row.limitBar?.min)} / ${formatPct(row.limit.peerFraction, row.limitBar?.min)} of ${row.limit.name}`
      : '—';
    const cells = [
      row.kernel,
      row.shape,
      oursMs,
      oursRate,
      row.peer?.name ?? '—',
      peerMs,
      peerRate,
      formatRatio(row.speedup, row.bar?.min),
      barCell(row),
      limit,
    ];
    lines.push(`| ${cells.map(cell).join(' | ')} |`);
  }
  return lines.join('\n');
}

const mib = (side, tensorMiB) =>
  side == null
    ? '—'
    : 'error' in side
      ? `error: ${side.error}`
      : `${side.peakGrowthMiB.toFixed(1)} MiB (${(side.peakGrowthMiB / tensorMiB).toFixed(1)} tensors)`;

/** Peak RSS growth per call, for rows that measured it; '' when none did. */
function renderMemory(rows) {
  const measured = rows.filter((r) => r.memory);
  if (!measured.length) return '';
  const lines = [
    'Peak resident memory a call adds (each side in a fresh process; one (B, H, T, d) float32 tensor for scale):',
    '',
    '| kernel | shape | ours | peer | one tensor | bar |',
    '|---|---|---|---|---|---|',
  ];
  for (const r of measured) {
    const m = r.memory;
    const bar = m.bar ? `${m.bar.text}: ${m.bar.status}` : '';
    lines.push(
      `| ${r.kernel} | ${r.shape} | ${mib(m.ours, m.tensorMiB)} | ${r.peer?.name ?? 'peer'} ${mib(m.peer, m.tensorMiB)} | ${m.tensorMiB.toFixed(1)} MiB | ${bar} |`,
    );
  }
  return lines.join('\n');
}

/**
 * The whole report as markdown: title, machine, limits, table, notes.
 * @param {import('./table.mjs').BenchReport} report
 */
export function renderReport(report) {
  const m = report.machine;
  const out = [];
  out.push(`## lmkit bench: ${report.suite} (${report.date})`, '');
  out.push(
    `${m.cpuModel}, ${m.logicalCores} logical cores; lmkit ISA ${m.isa}, ${report.options.threads} thread${report.options.threads === 1 ? '' : 's'}; ` +
      `node ${m.node}, torch ${m.torch ?? 'not installed'}, OpenBLAS ${m.openblas ?? 'not installed'}; ` +
      `commit ${m.gitCommit ?? 'unknown'}${m.gitDirty ? ' (dirty)' : ''}${report.options.quick ? '; --quick' : ''}`,
    '',
  );
  const limitLines = [];
  for (const r of report.limits?.peakFma?.results ?? [])
    limitLines.push(`peak FMA (${report.limits.peakFma.isa}) ${r.threads}T: ${r.gflops.toFixed(0)} GFLOP/s`);
  for (const r of report.limits?.peakBf16?.results ?? [])
    limitLines.push(`peak bf16 dot (vdpbf16ps) ${r.threads}T: ${r.gflops.toFixed(0)} GFLOP/s`);
  for (const r of report.limits?.stream?.results ?? [])
    limitLines.push(`STREAM triad ${r.threads}T: ${r.gbs.toFixed(1)} GB/s`);
  if (report.limits?.peakFma?.error) limitLines.push(`peak FMA: ${report.limits.peakFma.error}`);
  if (report.limits?.stream?.error) limitLines.push(`STREAM triad: ${report.limits.stream.error}`);
  if (limitLines.length) out.push(`Limits measured now: ${limitLines.join('; ')}`, '');
  out.push(renderTable(report.rows), '');
  const memory = renderMemory(report.rows);
  if (memory) out.push(memory, '');
  const verdicts = report.rows.flatMap((r) => [r.bar?.status, r.limitBar?.status, r.memory?.bar?.status]).filter(Boolean);
  const count = (s) => verdicts.filter((v) => v === s).length;
  if (verdicts.length) out.push(`Bars: ${count('PASS')} PASS, ${count('FAIL')} FAIL, ${verdicts.length - count('PASS') - count('FAIL')} n/a`, '');
  const notes = [...(report.notes ?? [])];
  const notBuilt = report.rows.filter((r) => r.ours?.status === 'not built').map((r) => `${r.kernel} ${r.shape}`);
  if (notBuilt.length) notes.push(`not built (the kernel is absent from this build, so ours has no figure): ${notBuilt.join('; ')}`);
  for (const row of report.rows) {
    if (row.ours?.note && row.ours.status !== 'not built') notes.push(`${row.kernel} ${row.shape}, ours: ${row.ours.note}`);
    if (row.peer?.note) notes.push(`${row.kernel} ${row.shape}, ${row.peer.name}: ${row.peer.note}`);
  }
  const overStream = report.rows.some(
    (r) => r.limit?.unit === 'GB/s' && ((r.limit.oursFraction ?? 0) > 1 || (r.limit.peerFraction ?? 0) > 1),
  );
  if (overStream)
    notes.push('above 100% of STREAM: that working set fits in the last-level cache, so DRAM bandwidth is not its ceiling');
  if (notes.length) out.push(...notes.map((n) => `- ${n}`), '');
  return out.join('\n');
}
