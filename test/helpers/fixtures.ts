// Reads the PyTorch fixtures written by test/fixtures/gen_*.py.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const FIXTURE_VERSION = 1;

export type FixtureTensor = Float32Array | Int32Array | Uint8Array;

export interface FixtureCase {
  name: string;
  opts: Record<string, unknown>;
  tensors: Record<string, FixtureTensor>;
  shapes: Record<string, number[]>;
}

interface RawTensor {
  shape: number[];
  dtype: 'float32' | 'int32' | 'uint8';
  data: string;
}

const fixturesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

function decode(raw: RawTensor): FixtureTensor {
  const bytes = Buffer.from(raw.data, 'base64');
  // Copy into a fresh, aligned buffer.
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  if (raw.dtype === 'float32') return new Float32Array(copy.buffer);
  if (raw.dtype === 'int32') return new Int32Array(copy.buffer);
  return copy;
}

/** Loads test/fixtures/<family>.json; throws if its version is not ours. */
export function loadFixtures(family: string): FixtureCase[] {
  const file = path.join(fixturesDir, `${family}.json`);
  const doc = JSON.parse(readFileSync(file, 'utf8')) as {
    version: number;
    cases: { name: string; opts: Record<string, unknown>; tensors: Record<string, RawTensor> }[];
  };
  if (doc.version !== FIXTURE_VERSION)
    throw new Error(`${file}: fixture version ${doc.version}, expected ${FIXTURE_VERSION}; run npm run fixtures`);
  return doc.cases.map((c) => {
    const tensors: Record<string, FixtureTensor> = {};
    const shapes: Record<string, number[]> = {};
    for (const [k, v] of Object.entries(c.tensors)) {
      tensors[k] = decode(v);
      shapes[k] = v.shape;
    }
    return { name: c.name, opts: c.opts, tensors, shapes };
  });
}

export function f32(c: FixtureCase, name: string): Float32Array {
  const t = c.tensors[name];
  if (!(t instanceof Float32Array)) throw new Error(`fixture ${c.name}: ${name} is not float32`);
  return t;
}

export function i32(c: FixtureCase, name: string): Int32Array {
  const t = c.tensors[name];
  if (!(t instanceof Int32Array)) throw new Error(`fixture ${c.name}: ${name} is not int32`);
  return t;
}
