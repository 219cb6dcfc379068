// The demo's metrics as the HTML report (lib/report): one section per stage,
// each with its curve, its table and a few verbatim generations, and the
// issue's claims on top with what was measured.
import type { LineChart, Report, ReportSection, ReportTable, SampleGeneration } from '../report/model.js';
import type { EvalResult } from './evaluate.js';
import type { DemoMetrics } from './pipeline.js';
import { ALPHA, pValueText } from './significance.js';

const curveChart = (title: string, points: readonly [number, number][], yLabel = 'loss'): LineChart =>
  ({ title, xLabel: 'iteration', yLabel, series: [{ name: title, points }] });

/** Per-task exact / partial for several evaluations side by side. */
function accuracyTable(caption: string, columns: readonly [string, EvalResult][]): ReportTable {
  const tasks = [...new Set(columns.flatMap(([, r]) => r.byTask.map((t) => t.task)))];
  const cell = (r: EvalResult, task: string, key: 'exact' | 'partial') => r.byTask.find((t) => t.task === task)?.[key] ?? null;
  return {
    caption,
    columns: ['task', ...columns.flatMap(([name]) => [`${name} exact`, `${name} partial`])],
    rows: [
      ...tasks.map((task) => [task, ...columns.flatMap(([, r]) => [cell(r, task, 'exact'), cell(r, task, 'partial')])]),
      ['mean over tasks', ...columns.flatMap(([, r]) => [r.exact, r.partial])],
    ],
  };
}

const firstSamples = (r: EvalResult, label: string, n = 4): SampleGeneration[] => r.samples.slice(0, n).map((s) => ({ ...s, label: `${label}: ${s.label ?? ''}` }));

export function demoReport(m: DemoMetrics, run: { date: string; command: string; machine: string }): Report {
  const h = m.ppo.history;
  const sections: ReportSection[] = [
    {
      title: 'Claims and what was measured',
      paragraphs: [
        'Each line is a claim of the pipeline; "holds" is computed from the numbers of this run, which are measured, never fixed.',
        `A "better than" claim holds only when a one-sided exact test on this run's evaluation sets gives p < ${ALPHA}: the paired sign test (the same instances or prompts before and after) or the binomial test against chance.`,
      ],
      tables: [{ columns: ['claim', 'measured', 'p', 'holds'], rows: m.checks.map((c) => [c.claim, c.measured, c.pValue === null ? '—' : pValueText(c.pValue), c.holds ? 'yes' : 'no']) }],
    },
    {
      title: 'Pre-training (character-level decoder on tinyshakespeare)',
      paragraphs: [`${(m.pretrain.parameters / 1e6).toFixed(2)}M parameters; final val loss ${m.pretrain.valLoss?.toFixed(3) ?? 'n/a'}.`],
      charts: [curveChart('pre-training loss', m.pretrain.curve)],
    },
    {
      title: 'Prompting the pre-trained model: zero-, one- and few-shot',
      tables: [accuracyTable('pre-trained model, greedy, exact match and partial credit', [['zero-shot', m.prompting.zeroShot], ['one-shot', m.prompting.oneShot], [`${m.config.shots}-shot`, m.prompting.fewShot]])],
      samples: [...firstSamples(m.prompting.zeroShot, 'zero-shot', 2), ...firstSamples(m.prompting.fewShot, 'few-shot', 2)],
    },
    {
      title: 'Instruction tuning (FLAN-style) and held-out zero-shot',
      paragraphs: [`Trained on ${m.sft.trainTasks.join(', ')} (${m.sft.examples} examples, direct and worked forms, several templates per task); held out: ${m.sft.heldOutTasks.join(', ')}. Final val loss ${m.sft.valLoss?.toFixed(3) ?? 'n/a'}.`],
      charts: [curveChart('instruction-tuning loss (output tokens only)', m.sft.curve)],
      tables: [accuracyTable('zero-shot, before and after instruction tuning', [['pre-trained', m.heldOut.base], ['after IFT', m.heldOut.sft]])],
      samples: firstSamples(m.heldOut.sft, 'after IFT', 6),
    },
    {
      title: 'Chain of thought vs direct answers (addition)',
      tables: [accuracyTable('instruction-tuned model, zero-shot', [['direct', m.cot.direct], ['worked steps', m.cot.cot]])],
      samples: [...firstSamples(m.cot.direct, 'direct', 1), ...firstSamples(m.cot.cot, 'worked steps', 1)],
    },
    {
      title: 'Reward model',
      paragraphs: [`${m.rm.trainPrompts} training prompts and ${m.rm.heldOutPrompts} held-out prompts with K=${m.config.rm.temperatures.length} samples each (at temperatures ${m.config.rm.temperatures.join(', ')}) from the SFT model (${m.rm.tiedResponses} responses left out as ties in the labeler's utility with another response of their prompt, ${m.rm.dropped} prompts dropped for lack of 2 responses it can tell apart; ${(100 * m.rm.sampleAccuracy).toFixed(1)}% of the samples exactly right). Training labels carry the simulated labeler's noise (flip p=${m.config.rm.labelerFlip}); held-out labels are its noise-free judgement.`,
        `Held-out pair accuracy ${m.rm.heldOutAccuracy.toFixed(3)} over ${m.rm.heldOutPairs} pairs (untrained head ${m.rm.initialAccuracy.toFixed(3)}).`],
      charts: [curveChart('pairwise loss −log σ(r_w − r_l)', m.rm.curve)],
    },
    {
      title: 'PPO against the reward model',
      paragraphs: [`On ${m.ppo.heldOutReward.prompts} held-out prompts, one sampled response each (same seeds for both models), the reward model scores the SFT model ${m.ppo.heldOutReward.sft.mean.toFixed(3)} and the PPO policy ${m.ppo.heldOutReward.ppo.mean.toFixed(3)} on average.`],
      charts: [
        { title: 'reward-model score', xLabel: 'iteration', yLabel: 'score', series: [{ name: 'mean score', points: h.map((s) => [s.iter, s.score]) }, { name: 'score − β·KL', points: h.map((s) => [s.iter, s.rlhfReward]) }] },
        { title: 'KL to the SFT model and β', xLabel: 'iteration', yLabel: 'nats / β', series: [{ name: 'KL (nats)', points: h.map((s) => [s.iter, s.kl]) }, { name: 'β', points: h.map((s) => [s.iter, s.klCoef]) }] },
      ],
      tables: [
        { caption: 'per iteration', columns: ['iter', 'score', 'KL', 'β', 'policy loss', 'value loss', 'clip frac', 'entropy'], rows: h.map((s) => [s.iter, s.score, s.kl, s.klCoef, s.policyLoss, s.valueLoss, s.clipFrac, s.entropy]) },
        accuracyTable('verifier accuracy on the training families, before and after PPO', [['SFT', m.ppo.before], ['PPO', m.ppo.after]]),
      ],
      samples: firstSamples(m.ppo.after, 'after PPO', 3),
    },
    {
      title: 'GLM: blank infilling, then cloze classification',
      paragraphs: [`Cloze accuracy on ${m.glm.clozeEval} held-out sentences: ${(100 * m.glm.clozeAccuracy).toFixed(1)}% (before fine-tuning ${(100 * m.glm.clozeAccuracyBefore).toFixed(1)}%, chance ${(100 * m.glm.chance).toFixed(0)}%).`],
      charts: [curveChart('GLM blank-infilling loss', m.glm.pretrainCurve), curveChart('GLM cloze loss', m.glm.clozeCurve)],
      samples: m.glm.samples,
    },
  ];
  return {
    title: 'lmkit demo: pre-train → prompting → IFT → CoT → RM → PPO → GLM cloze',
    subtitle: `${m.config.name} run, seed ${m.config.seed}`,
    run: { ...run, stages: m.stages },
    sections,
  };
}
