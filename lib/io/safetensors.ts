// safetensors (Hugging Face): u64 little-endian header length N, N bytes of
// JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?},
// then the raw little-endian tensor bytes. The parser trusts nothing in the
// file: every length, dtype, shape and offset is checked before use, and the
// tensors must tile the data section exactly (no overlaps, no holes), as the
// reference Rust implementation requires.
import { readFileSync } from 'node:fs';

import { CheckpointError } from '../errors.js';
import { writeFileAtomic } from './atomic_write.js';

export type SafetensorsDtype =
  | 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

const DTYPE_BYTES: Record<SafetensorsDtype, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};

/** Same cap as the reference implementation: a bigger header is hostile. */
const MAX_HEADER_BYTES = 100_000_000;

export interface StoredTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  /** The tensor's raw little-endian bytes (an aligned copy). */
  bytes: Uint8Array;
}

export interface SafetensorsFile {
  tensors: Map<string, StoredTensor>;
  metadata: Record<string, string>;
}

export type TensorData = Float32Array | Int32Array | Uint8Array | Float64Array;

export interface TensorToWrite {
  dtype: SafetensorsDtype;
  shape: number[];
  data: TensorData;
}

const fail = (source: string, what: string): never => {
  throw new CheckpointError('CHECKPOINT_INVALID', `${source}: ${what}`);
};

function numel(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Parses a whole safetensors file held in memory. `source` names it in errors. */
export function parseSafetensors(file: Uint8Array, source = 'safetensors'): SafetensorsFile {
  if (file.length < 8)
    fail(source, `file is ${file.length} bytes, too short for the 8-byte header length (truncated?)`);
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const headerLen = view.getBigUint64(0, true);
  if (headerLen > BigInt(MAX_HEADER_BYTES))
    fail(source, `header length ${headerLen} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  const n = Number(headerLen);
  if (8 + n > file.length)
    fail(source, `header length ${n} runs past the end of the ${file.length}-byte file (truncated?)`);

  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(file.subarray(8, 8 + n)));
  } catch (err) {
    fail(source, `header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    fail(source, 'header is not a JSON object');

  const data = file.subarray(8 + n);
  const metadata: Record<string, string> = {};
  const entries: { name: string; begin: number; end: number; tensor: Omit<StoredTensor, 'bytes'> }[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
        fail(source, '__metadata__ is not an object of strings');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(source, `__metadata__.${k} is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const where = `tensor "${name}"`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(source, `${where} is not an object`);
    const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
    if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES))
      fail(source, `${where} has unsupported dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(DTYPE_BYTES).join(', ')})`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      fail(source, `${where} has shape ${JSON.stringify(shape)}, expected an array of non-negative integers`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0))
      fail(source, `${where} has data_offsets ${JSON.stringify(offsets)}, expected [begin, end] integers`);
    const [begin, end] = offsets as [number, number];
    if (begin > end || end > data.length)
      fail(source, `${where} has data_offsets [${begin}, ${end}] outside the ${data.length}-byte data section`);
    // Multiply step by step so a hostile shape cannot overflow before the check.
    const bytesPer = DTYPE_BYTES[dtype as SafetensorsDtype];
    let expected = bytesPer;
    for (const d of shape as number[]) {
      expected *= d;
      if (expected > data.length) break;
    }
    if (expected !== end - begin)
      fail(source, `${where} (${dtype}, shape [${(shape as number[]).join(', ')}]) needs ${expected} bytes but data_offsets span ${end - begin}`);
    entries.push({ name, begin, end, tensor: { dtype: dtype as SafetensorsDtype, shape: shape as number[] } });
  }

  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const e of entries) {
    if (e.begin < cursor) fail(source, `tensor "${e.name}" overlaps the tensor before it in the data section`);
    if (e.begin > cursor) fail(source, `data section has ${e.begin - cursor} unused bytes before tensor "${e.name}"`);
    cursor = e.end;
  }
  if (cursor !== data.length)
    fail(source, `data section is ${data.length} bytes but the tensors cover ${cursor} (trailing bytes or truncated)`);

  const tensors = new Map<string, StoredTensor>();
  for (const e of entries) tensors.set(e.name, { ...e.tensor, bytes: data.slice(e.begin, e.end) });
  return { tensors, metadata };
}

/** Reads and validates a safetensors file. */
export function readSafetensors(path: string): SafetensorsFile {
  let file: Buffer;
  try {
    file = readFileSync(path);
  } catch (err) {
    throw new CheckpointError('CHECKPOINT_UNREADABLE', `${path}: cannot read (${(err as Error).message})`, { cause: err });
  }
  return parseSafetensors(file, path);
}

/** The tensor's values as float32 (from F32, F64, F16 or BF16). */
export function toFloat32(t: StoredTensor, name = 'tensor'): Float32Array {
  const count = numel(t.shape);
  const view = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
  const out = new Float32Array(count);
  switch (t.dtype) {
    case 'F32':
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
      return out;
    case 'F64':
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, true);
      return out;
    case 'BF16': {
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) bits[i] = view.getUint16(2 * i, true) << 16;
      return out;
    }
    case 'F16':
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
      return out;
    default:
      throw new CheckpointError('CHECKPOINT_DTYPE', `${name} has dtype ${t.dtype}, expected a floating-point dtype`);
  }
}

/** The tensor's values as int32 (from I32, or I64 within int32 range). */
export function toInt32(t: StoredTensor, name = 'tensor'): Int32Array {
  const count = numel(t.shape);
  const view = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
  const out = new Int32Array(count);
  if (t.dtype === 'I32') {
    for (let i = 0; i < count; i++) out[i] = view.getInt32(4 * i, true);
    return out;
  }
  if (t.dtype === 'I64') {
    for (let i = 0; i < count; i++) {
      const v = view.getBigInt64(8 * i, true);
      if (v < -2147483648n || v > 2147483647n)
        throw new CheckpointError('CHECKPOINT_DTYPE', `${name}[${i}] = ${v} does not fit in int32`);
      out[i] = Number(v);
    }
    return out;
  }
  throw new CheckpointError('CHECKPOINT_DTYPE', `${name} has dtype ${t.dtype}, expected I32 or I64`);
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const ARRAY_DTYPES: Record<string, SafetensorsDtype[]> = {
  Float32Array: ['F32'], Float64Array: ['F64'], Int32Array: ['I32'], Uint8Array: ['U8', 'BOOL', 'I8'],
};

/**
 * Serialises tensors (in name order) with optional string metadata. The header
 * is padded with spaces to a multiple of 8 bytes so data stays aligned.
 */
export function serializeSafetensors(
  tensors: Record<string, TensorToWrite>,
  metadata?: Record<string, string>,
): Uint8Array[] {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors[name]!;
    const allowed = ARRAY_DTYPES[t.data.constructor.name] ?? [];
    if (!allowed.includes(t.dtype))
      throw new CheckpointError('CHECKPOINT_WRITE', `tensor "${name}": dtype ${t.dtype} does not match its ${t.data.constructor.name}`);
    if (numel(t.shape) !== t.data.length)
      throw new CheckpointError('CHECKPOINT_WRITE', `tensor "${name}": shape [${t.shape.join(', ')}] has ${numel(t.shape)} elements but the data has ${t.data.length}`);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  const jsonBytes = new TextEncoder().encode(json);
  const padded = Math.ceil(jsonBytes.length / 8) * 8;
  json += ' '.repeat(padded - jsonBytes.length);
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(padded), true);
  const chunks: Uint8Array[] = [prefix, new TextEncoder().encode(json)];
  for (const name of names) {
    const d = tensors[name]!.data;
    chunks.push(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  }
  return chunks;
}

/** Writes a safetensors file atomically (temp file, fsync, rename). */
export function writeSafetensors(
  path: string,
  tensors: Record<string, TensorToWrite>,
  metadata?: Record<string, string>,
): void {
  writeFileAtomic(path, serializeSafetensors(tensors, metadata));
}
