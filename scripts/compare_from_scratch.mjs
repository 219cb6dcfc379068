#!/usr/bin/env node
// The control for `lmkit compare`'s fine-tuned columns: the same fine-tuning
// (steps, batch, learning rate, seeds, data, adapters) from randomly
// initialised weights instead of the pre-trained ones. Where a family does
// better from scratch, its pre-training did not help that task at this scale
// (the README's compare section reads the two side by side).
//
//   node scripts/compare_from_scratch.mjs [--quick] [--tiny]   (after npm run build:ts)
//
// Prints a markdown table to stdout; the initial weights are seeded as
// pre-training seeds them (config.seed), so the numbers repeat.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => import(path.join(root, 'dist', p));
const { COMPARE_CONFIGS } = await dist('compare/config.js');
const { compareTokenizer } = await dist('compare/tokenizer.js');
const { buildCompareData } = await dist('compare/data.js');
const { familyPretrainConfig, sizeFamilies } = await dist('compare/sizing.js');
const { resolvedModelKeys, resolvedObjectiveKeys } = await dist('stages/pretrain_config.js');
const { ARCH_ADAPTERS } = await dist('stages/pretrain_task.js');
const { decoderAdapter } = await dist('compare/families/decoder.js');
const { encoderAdapter } = await dist('compare/families/encoder.js');
const { encoderDecoderAdapter } = await dist('compare/families/encoder_decoder.js');
const { glmAdapter } = await dist('compare/families/glm.js');
const { isUnsupported } = await dist('compare/family.js');
const { accuracy, charF1, exactMatch, spread } = await dist('compare/metrics.js');
const { formatCell } = await dist('compare/table.js');

const args = process.argv.slice(2);
const c = COMPARE_CONFIGS[args.includes('--tiny') ? 'tiny' : args.includes('--quick') ? 'quick' : 'full'];
const corpusFile = path.join(root, 'data', 'tinyshakespeare.txt');
const tokenizer = compareTokenizer(readFileSync(corpusFile, 'utf8'), c.pretrain.block_size);
const data = buildCompareData(c, tokenizer, corpusFile);
const adapters = { decoder: decoderAdapter, encoder: encoderAdapter, 'encoder-decoder': encoderDecoderAdapter, glm: glmAdapter };
const settings = (part, seed) => ({ iters: c[part].iters, batchSize: c[part].batch_size, learningRate: c[part].learning_rate, seed });
const started = performance.now();

const rows = [];
for (const shape of sizeFamilies(c, tokenizer)) {
  const pc = familyPretrainConfig(shape.arch, shape.model, c, 'unused.json');
  // The model pre-training would start from: same adapter, same seed, no steps taken.
  const fresh = ARCH_ADAPTERS[shape.arch].createTask({ tokenizer, blockSize: c.pretrain.block_size, model: resolvedModelKeys(pc), objective: resolvedObjectiveKeys(pc), seed: c.seed }).model;
  const adapter = adapters[shape.arch](fresh, tokenizer);
  const nlu = data.nlu.map(({ task, train, eval: queries }) =>
    spread(c.finetuneSeeds.map((seed) => accuracy(adapter.fineTuneNlu(task, train, queries, settings('nlu', seed)).predictions, queries.map((q) => q.label)))));
  const sources = data.seq2seq.eval.map((q) => q.source), refs = data.seq2seq.eval.map((q) => q.target);
  const runs = c.finetuneSeeds.map((seed) => adapter.fineTuneSeq2Seq(data.seq2seq.train, sources, settings('seq2seq', seed), c.seq2seq.maxLength + 4));
  const cipher = runs.some(isUnsupported) ? ['n/a', 'n/a']
    : [exactMatch, charF1].map((metric) => formatCell(spread(runs.map((r) => metric(r.predictions, refs)))));
  rows.push(`| ${shape.arch} | ${shape.parameters.toLocaleString('en-US')} | ${nlu.map((s) => formatCell(s)).join(' | ')} | ${cipher.join(' | ')} |`);
  process.stderr.write(`${shape.arch} done (${((performance.now() - started) / 1000).toFixed(0)} s)\n`);
}

console.log(`Fine-tuned from random initialisation (${c.name} config, the fine-tuning of \`lmkit compare\`, seeds ${c.finetuneSeeds.join(', ')}; mean (min–max)):\n`);
console.log(`| family | parameters | ${c.nlu.tasks.map((t) => `${t} accuracy`).join(' | ')} | cipher exact match | cipher char F1 |`);
console.log(`|---|---|${c.nlu.tasks.map(() => '---|').join('')}---|---|`);
for (const r of rows) console.log(r);
console.log(`\n${((performance.now() - started) / 60000).toFixed(1)} min`);
