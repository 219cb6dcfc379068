// CPU time the hypervisor gave to other guests while a suite ran ("steal",
// the 8th field of /proc/stat's cpu line). On a shared VM it is the part of
// the noise a load average does not show: the guest looks idle while its
// vCPUs wait, and every timing of the suite includes the waits.
import fs from 'node:fs';

/**
 * The machine's CPU time counters, summed over CPUs, in clock ticks: `total`
 * (user … steal) and `steal`; null where /proc/stat is missing or unreadable
 * (not Linux).
 * @param {string | null} [text] /proc/stat's contents (read when not given)
 * @returns {{total: number, steal: number} | null}
 */
export function readCpuTimes(text) {
  let stat = text;
  if (stat === undefined) {
    try {
      stat = fs.readFileSync('/proc/stat', 'utf8');
    } catch {
      return null;
    }
  }
  const line = stat?.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return null;
  // user nice system idle iowait irq softirq steal (guest time is already in user).
  const fields = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (fields.length < 8 || fields.some((f) => !Number.isFinite(f))) return null;
  return { total: fields.reduce((a, b) => a + b, 0), steal: fields[7] };
}

/**
 * Steal's share of the CPU time that passed between two readings (0…1), or
 * null when either is missing or no time passed.
 * @param {{total: number, steal: number} | null} start
 * @param {{total: number, steal: number} | null} end
 */
export function stealShare(start, end) {
  if (!start || !end) return null;
  const total = end.total - start.total;
  return total > 0 ? (end.steal - start.steal) / total : null;
}

/** Below this share steal is left out of the notes. */
export const STEAL_NOTE_THRESHOLD = 0.02;

/** The report's note on steal, when there was enough to matter. @param {number | null} share */
export function stealNotes(share) {
  if (share === null || share < STEAL_NOTE_THRESHOLD) return [];
  return [
    `the hypervisor ran other guests for ${(100 * share).toFixed(1)}% of the CPU time of this suite (steal, /proc/stat): ` +
      'every timing includes those pauses, while a limit (peak FMA, STREAM triad) is the best of its samples, so on this ' +
      'machine a rate reads low against its limit by about that share (the GEMM rows alternate ours and the peer, so ' +
      'their speed ratios share the pauses)',
  ];
}
