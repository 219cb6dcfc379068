// A report shaped like the demo's (loss curves, reward/KL, accuracy tables,
// sample generations) with the awkward cases mixed in: NaN/Infinity points,
// a log axis, an empty series, many series, and hostile text that must stay text.
import type { Report } from '../../lib/report/model.js';

/** Hostile strings: if any of them runs or fetches, escaping is broken. */
export const HOSTILE = {
  script: '<script>window.__pwned = "script"</script>',
  img: '<img src="x" onerror="window.__pwned = \'img\'">',
  quote: '" onmouseover="window.__pwned = \'attr\'',
  ampersand: 'Q&A <b>bold</b> & more',
};

/** A smooth, deterministic loss curve: 4.2 decaying towards `floor`. */
function lossCurve(steps: number, every: number, floor: number, wobble: number): [number, number][] {
  const points: [number, number][] = [];
  for (let s = 0; s <= steps; s += every) points.push([s, floor + (4.2 - floor) * Math.exp(-s / 120) + wobble * Math.sin(s / 7)]);
  return points;
}

export function sampleReport(): Report {
  const train = lossCurve(600, 5, 1.4, 0.03);
  const val = lossCurve(600, 50, 1.55, 0);
  // Two failed steps, as a NaN-skipping training run logs them.
  train[20] = [train[20]![0], NaN];
  train[21] = [train[21]![0], Infinity];
  const reward: [number, number][] = [];
  const kl: [number, number][] = [];
  for (let step = 0; step < 40; step++) {
    reward.push([step, -0.5 + 1.1 * (1 - Math.exp(-step / 12))]);
    kl.push([step, 0.06 * (1 - Math.exp(-step / 8)) + 0.002 * Math.cos(step)]);
  }
  const manySeries = Array.from({ length: 9 }, (_, i) => ({
    name: `task ${String.fromCharCode(65 + i)}`,
    points: [0, 1, 2, 3].map((epoch) => [epoch, 0.1 + 0.08 * i + 0.05 * epoch] as [number, number]),
  }));
  return {
    title: `lmkit demo report ${HOSTILE.ampersand}`,
    subtitle: 'Pre-training, prompting, instruction tuning, RLHF and GLM cloze on 2 CPU cores.',
    run: {
      date: '2025-01-02T03:04:05.000Z',
      command: `lmkit demo --quick --note ${HOSTILE.quote}`,
      machine: 'x64, 2 cores, AVX2, Node v20',
      stages: [
        { name: 'pre-train', seconds: 41.25 },
        { name: 'IFT', seconds: 12.5 },
        { name: 'PPO', seconds: 20 },
        { name: 'GLM cloze', seconds: 0 },
      ],
    },
    sections: [
      {
        title: 'Pre-training',
        paragraphs: ['Causal LM on tinyshakespeare, char-level.', HOSTILE.ampersand],
        charts: [
          { title: 'Loss', xLabel: 'step', yLabel: 'cross-entropy', series: [{ name: 'train', points: train }, { name: 'val', points: val }] },
          { title: 'Loss (log scale)', xLabel: 'step', yLabel: 'cross-entropy', logY: true, series: [{ name: 'train', points: train }, { name: 'val', points: val }] },
        ],
      },
      {
        title: 'Instruction fine-tuning',
        charts: [
          { title: 'Held-out accuracy per task', xLabel: 'epoch', yLabel: 'accuracy', series: manySeries },
          { title: 'A chart with an empty series', xLabel: 'step', yLabel: 'value', series: [{ name: 'measured', points: [[0, 1], [1, 3], [2, 2]] }, { name: 'not run', points: [] }] },
        ],
        tables: [{
          caption: 'Zero-shot accuracy on the held-out task',
          columns: ['model', 'accuracy', 'n', 'note'],
          rows: [['pre-trained only', 0.125, 64, null], ['after IFT', 0.640625, 64, HOSTILE.script]],
        }],
        samples: [
          { label: 'after IFT', prompt: 'Reverse the word: lmkit', output: 'tikml', note: 'correct' },
          { label: 'hostile output', prompt: HOSTILE.img, output: HOSTILE.script, note: HOSTILE.quote },
        ],
      },
      {
        title: 'PPO',
        charts: [{ title: 'Reward and KL', xLabel: 'PPO step', yLabel: 'value', series: [{ name: 'mean RM reward', points: reward }, { name: 'KL to reference', points: kl }] }],
      },
    ],
  };
}
