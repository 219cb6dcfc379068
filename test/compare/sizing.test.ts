// The shipped compare configs size the four families within ±10% of GLM's
// parameter count on the shipped corpus's tokenizer: each count is taken
// from a model built by pre-training's own adapter and checked here against
// GLM's, not against the solver's own arithmetic. A tolerance that cannot be
// met is refused naming the family.
import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { FULL_COMPARE, QUICK_COMPARE } from '../../lib/compare/config.js';
import { familyPretrainConfig, FAMILIES, PARAMETER_TOLERANCE, sizeFamilies } from '../../lib/compare/sizing.js';
import { compareTokenizer } from '../../lib/compare/tokenizer.js';
import { resolvedModelKeys, resolvedObjectiveKeys } from '../../lib/stages/pretrain_config.js';
import { ARCH_ADAPTERS } from '../../lib/stages/pretrain_task.js';
import { repoRoot } from '../helpers/gpt2.js';

const corpus = readFileSync(path.join(repoRoot, 'data', 'tinyshakespeare.txt'), 'utf8');

for (const config of [FULL_COMPARE, QUICK_COMPARE]) {
  t.test(`${config.name} config: every family within ±10% of GLM`, async (t) => {
    const tokenizer = compareTokenizer(corpus, config.pretrain.block_size);
    const shapes = sizeFamilies(config, tokenizer);
    t.same(shapes.map((s) => s.arch), FAMILIES);
    const glm = shapes.find((s) => s.arch === 'glm')!;
    t.equal(glm.model.n_inner, 4 * config.model.n_embd, 'GLM keeps the plain 4·n_embd MLP');
    for (const s of shapes) {
      // The model pre-training builds from this shape, counted tensor by tensor.
      const pc = familyPretrainConfig(s.arch, s.model, config, 'unused.json');
      const model = ARCH_ADAPTERS[s.arch].createTask({ tokenizer, blockSize: config.pretrain.block_size, model: resolvedModelKeys(pc), objective: resolvedObjectiveKeys(pc), seed: 0 }).model;
      const counted = model.parameters().reduce((n, p) => n + p.shape.reduce((a, d) => a * d, 1), 0);
      t.equal(counted, s.parameters, `${s.arch}: the count is the built model's`);
      const off = Math.abs(counted / glm.parameters - 1);
      t.ok(off <= PARAMETER_TOLERANCE, `${s.arch}: ${counted} parameters, ${(100 * off).toFixed(2)}% from GLM's ${glm.parameters}`);
    }
    t.ok(shapes.some((s) => s.arch !== 'glm' && s.model.n_inner !== glm.model.n_inner), 'some family needed another MLP width to get there');
  });
}

t.test('a tolerance that cannot be met is refused, naming the family', async (t) => {
  const tokenizer = compareTokenizer(corpus, QUICK_COMPARE.pretrain.block_size);
  const shapes = sizeFamilies(QUICK_COMPARE, tokenizer);
  const glm = shapes.find((s) => s.arch === 'glm')!.parameters;
  const worst = Math.max(...shapes.map((s) => Math.abs(s.parameters - glm) / glm));
  t.ok(worst > 0, `the MLP widths move in steps of 4, so some family is off by ${worst}`);
  t.throws(() => sizeFamilies(QUICK_COMPARE, tokenizer, worst / 2), { code: 'CONFIG_INVALID', message: /the (decoder|encoder|encoder-decoder) has \d+ parameters, more than [\d.e-]+% from GLM's \d+/ });
});
