// docs/API.md shows the programs of docs/examples/ verbatim: each example
// appears once as a ```ts block, and every ```ts block is an example file —
// so the code a reader copies is the code that CI type-checks and runs
// (test/package/install_tarball.test.ts).
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../helpers/cuda_emulation.js';

const docFile = path.join(repoRoot, 'docs', 'API.md');
const doc = readFileSync(docFile, 'utf8');
const examplesDir = path.join(repoRoot, 'docs', 'examples');
const examples = readdirSync(examplesDir).filter((f) => f.endsWith('.ts')).sort();
const blocks = [...doc.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);

t.test('every example file appears verbatim, once, right after its link', async (t) => {
  t.ok(examples.length >= 5, `examples: ${examples.join(', ')}`);
  for (const f of examples) {
    const source = readFileSync(path.join(examplesDir, f), 'utf8');
    t.equal(blocks.filter((b) => b === source).length, 1, `docs/examples/${f} is one block of docs/API.md (copy the file into its block when either changes)`);
    t.match(doc, `Example ([docs/examples/${f}](examples/${f})):\n\n\`\`\`ts\n${source}`, `${f} follows its link`);
  }
});

t.test('no ```ts block in docs/API.md escapes the checks', async (t) => {
  const sources = new Set(examples.map((f) => readFileSync(path.join(examplesDir, f), 'utf8')));
  const stray = blocks.filter((b) => !sources.has(b)).map((b) => b.split('\n')[0]);
  t.same(stray, [], 'a TypeScript block that is not an example file would be neither type-checked nor run');
});

t.test('the five areas the API page promises each have an example', async (t) => {
  t.same(examples, ['fine_tuning.ts', 'generation.ts', 'kernels.ts', 'serving.ts', 'training.ts']);
});
