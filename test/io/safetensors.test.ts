// safetensors: reading a file torch wrote, writing one torch reads back,
// and rejecting hostile files with a CheckpointError.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import {
  parseSafetensors, readSafetensors, serializeSafetensors, toFloat32, toInt32, writeSafetensors,
} from '../../lib/io/safetensors.js';
import { CheckpointError } from '../../lib/errors.js';
import { loadFixtures, f32, i32 } from '../helpers/fixtures.js';
import { expectClose } from '../helpers/compare.js';
import { Rng, randn } from '../helpers/random.js';

const fixturesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
const torchPython = '/usr/bin/python3';

function torchAvailable(): boolean {
  try {
    execFileSync(torchPython, ['-c', 'import torch'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

t.test('reads a safetensors file written from torch (F32, F16, BF16, F64, I64, I32, empty)', async (t) => {
  const file = readSafetensors(path.join(fixturesDir, 'torch_written.safetensors'));
  const [want] = loadFixtures('safetensors');
  t.equal(file.metadata.format, 'pt');
  t.same([...file.tensors.keys()].sort(), Object.keys(want!.tensors).sort());
  for (const name of ['wte.weight', 'h.0.attn.c_attn.bias', 'h.0.ln_1.weight', 'lm_head.bf16', 'scalar', 'empty']) {
    const stored = file.tensors.get(name)!;
    t.same(stored.shape, want!.shapes[name], `${name} shape`);
    // F16/BF16 values were rounded by torch before the float32 fixture was
    // made, so the conversion must be exact.
    expectClose(t, name, toFloat32(stored, name), f32(want!, name), { atol: 0 });
  }
  t.same([...toInt32(file.tensors.get('positions')!)], [...i32(want!, 'positions')]);
  t.same([...toInt32(file.tensors.get('ids')!)], [...i32(want!, 'ids')]);
});

t.test('round trip through our writer, and torch reads what we wrote', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lmkit-st-'));
  const rng = new Rng(1);
  const tensors = {
    'transformer.wte.weight': { dtype: 'F32' as const, shape: [5, 3], data: randn(rng, 15) },
    'transformer.h.0.attn.bias': { dtype: 'I32' as const, shape: [2, 2], data: new Int32Array([1, -2, 3, 2147483647]) },
    'mask': { dtype: 'U8' as const, shape: [3], data: new Uint8Array([1, 0, 1]) },
    'nothing': { dtype: 'F32' as const, shape: [0], data: new Float32Array(0) },
  };
  const file = path.join(dir, 'model.safetensors');
  writeSafetensors(file, tensors, { step: '7' });
  t.same(readdirSync(dir), ['model.safetensors'], 'no temp file left behind');
  const back = readSafetensors(file);
  t.equal(back.metadata.step, '7');
  t.same([...toFloat32(back.tensors.get('transformer.wte.weight')!)], [...tensors['transformer.wte.weight'].data]);
  t.same([...toInt32(back.tensors.get('transformer.h.0.attn.bias')!)], [1, -2, 3, 2147483647]);
  t.same(back.tensors.get('nothing')!.shape, [0]);
  t.equal(readFileSync(file).readUInt32LE(0) % 8, 0, 'header padded to 8 bytes');

  await t.test('torch reads back what we wrote', { skip: torchAvailable() ? false : `${torchPython} has no torch (apt-get install python3-torch)` }, async (t) => {
    const out = execFileSync(torchPython, [path.join(fixturesDir, 'safetensors_py.py'), 'check', file], { encoding: 'utf8' });
    const seen = JSON.parse(out) as { metadata: Record<string, string>; tensors: Record<string, { dtype: string; shape: number[]; sum: number }> };
    t.equal(seen.metadata.step, '7');
    const wteSum = [...tensors['transformer.wte.weight'].data].reduce((a, b) => a + b, 0);
    t.ok(Math.abs(seen.tensors['transformer.wte.weight']!.sum - wteSum) < 1e-5, 'torch sees the same F32 values');
    t.same(seen.tensors['transformer.h.0.attn.bias'], { dtype: 'I32', shape: [2, 2], sum: 2147483649, first: 1 });
    t.same(seen.tensors.mask!.shape, [3]);
  });
});

/** A header + data file from a raw header object (for crafting hostile files). */
function craft(header: unknown, dataBytes: number, headerLenOverride?: bigint): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, headerLenOverride ?? BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

t.test('hostile headers are rejected with a CheckpointError naming the problem', async (t) => {
  const ok = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const cases: [string, Uint8Array, RegExp][] = [
    ['empty file', new Uint8Array(0), /too short/],
    ['header length past the end', craft(ok, 8, 10_000n), /runs past the end/],
    ['header length 2^63', craft(ok, 8, 2n ** 63n), /exceeds/],
    ['not JSON', (() => { const f = craft(ok, 8); f[9] = 0x7b; f[10] = 0x7b; return f; })(), /not valid UTF-8 JSON/],
    ['array header', craft([1, 2], 0), /not a JSON object/],
    ['unknown dtype', craft({ a: { dtype: 'Q7', shape: [2], data_offsets: [0, 8] } }, 8), /unsupported dtype "Q7"/],
    ['negative dim', craft({ a: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, 8), /shape \[-2\]/],
    ['fractional dim', craft({ a: { dtype: 'F32', shape: [1.5], data_offsets: [0, 8] } }, 8), /non-negative integers/],
    ['offsets outside', craft({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 800] } }, 8), /outside the 8-byte data/],
    ['offsets reversed', craft({ a: { dtype: 'F32', shape: [0], data_offsets: [8, 0] } }, 8), /outside/],
    ['size mismatch', craft({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8), /needs 12 bytes/],
    ['huge shape', craft({ a: { dtype: 'F32', shape: [2 ** 40, 2 ** 40, 2 ** 40], data_offsets: [0, 8] } }, 8), /needs .* bytes/],
    ['overlap', craft({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8), /overlaps/],
    ['hole', craft({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8), /unused bytes/],
    ['trailing bytes', craft(ok, 12), /trailing bytes or truncated/],
    ['bad metadata', craft({ __metadata__: { x: 3 }, ...ok }, 8), /__metadata__.x is not a string/],
    ['offsets not a pair', craft({ a: { dtype: 'F32', shape: [2], data_offsets: [0] } }, 8), /data_offsets/],
  ];
  for (const [what, bytes, message] of cases)
    t.throws(() => parseSafetensors(bytes, 'x.safetensors'), { name: 'CheckpointError', code: 'CHECKPOINT_INVALID', message }, what);
  t.throws(() => readSafetensors('/nonexistent/model.safetensors'), { code: 'CHECKPOINT_UNREADABLE', message: /nonexistent.*cannot read/ });
});

t.test('fuzz: random corruptions of a valid file never escape as anything but CheckpointError', async (t) => {
  const rng = new Rng(42);
  const valid = Buffer.concat(serializeSafetensors({
    'w': { dtype: 'F32', shape: [4, 3], data: randn(rng, 12) },
    'b': { dtype: 'F32', shape: [3], data: randn(rng, 3) },
    'i': { dtype: 'I32', shape: [2], data: new Int32Array([1, 2]) },
  }, { k: 'v' }));
  let rejected = 0;
  let other = 0;
  const trials = 3000;
  for (let trial = 0; trial < trials; trial++) {
    const f = Uint8Array.from(valid);
    let g: Uint8Array = f;
    const kind = rng.int(0, 4);
    if (kind === 0) for (let j = rng.int(1, 4); j > 0; j--) f[rng.int(0, f.length)] = rng.int(0, 256);
    else if (kind === 1) g = f.subarray(0, rng.int(0, f.length));
    else if (kind === 2) new DataView(f.buffer).setUint32(rng.int(0, 2) * 4, rng.int(0, 2 ** 31), true);
    else f[rng.int(8, 8 + Number(new DataView(f.buffer).getBigUint64(0, true)))] = '{}[]",:0123456789-e'.charCodeAt(rng.int(0, 19));
    try {
      const parsed = parseSafetensors(g, 'fuzz');
      for (const [name, st] of parsed.tensors) if (st.dtype === 'F32') toFloat32(st, name);
    } catch (err) {
      if (err instanceof CheckpointError) rejected++;
      else {
        other++;
        t.fail(`trial ${trial}: ${(err as Error).name}: ${(err as Error).message}`);
      }
    }
  }
  t.equal(other, 0, `all failures were CheckpointErrors (${rejected} of ${trials} corruptions rejected)`);
  t.ok(rejected > trials / 2, 'most corruptions are detected');
});

t.test('writer refuses inconsistent tensors and leaves no file', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lmkit-st-'));
  const file = path.join(dir, 'bad.safetensors');
  t.throws(() => writeSafetensors(file, { a: { dtype: 'F32', shape: [3], data: new Float32Array(2) } }), { name: 'CheckpointError', message: /shape \[3\] has 3 elements but the data has 2/ });
  t.throws(() => writeSafetensors(file, { a: { dtype: 'I32', shape: [2], data: new Float32Array(2) } }), { message: /dtype I32 does not match its Float32Array/ });
  t.notOk(existsSync(file));
  writeFileSync(path.join(dir, 'keep'), 'x');
  t.same(readdirSync(dir), ['keep'], 'no temp files');
});
