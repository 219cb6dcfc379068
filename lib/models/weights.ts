// Model weights in safetensors with Hugging Face names and layouts. GPT-2's
// projections are Conv1D modules whose weight is stored [in, out]; our Linear
// keeps PyTorch's [out, in], so those weights are transposed on the way in
// and out. Loading is strict: a missing, unexpected or misshapen tensor is a
// CheckpointError naming it.
import { CheckpointError } from '../errors.js';
import type { Module } from '../nn/module.js';
import { readSafetensors, toFloat32, writeSafetensors, type SafetensorsFile, type TensorToWrite } from '../io/safetensors.js';

/**
 * HF GPT-2 Conv1D weights (stored transposed relative to nn.Linear); our
 * cross-attention's c_q / c_kv follow the same layout as its c_proj.
 */
const CONV1D = /\.(c_attn|c_proj|c_fc|c_gate|c_q|c_kv)\.weight$/;

export function isConv1DWeight(name: string): boolean {
  return CONV1D.test(name);
}

function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c]!;
  return out;
}

/** The model's parameters as safetensors entries with HF names/layouts. */
export function exportWeights(model: Module): Record<string, TensorToWrite> {
  const out: Record<string, TensorToWrite> = {};
  for (const [name, p] of model.namedParameters()) {
    const data = p.f32(name);
    if (isConv1DWeight(name) && p.ndim === 2) {
      const [rows, cols] = p.shape as [number, number];
      out[name] = { dtype: 'F32', shape: [cols, rows], data: transpose2d(data, rows, cols) };
    } else out[name] = { dtype: 'F32', shape: [...p.shape], data: data.slice() };
  }
  return out;
}

/** Copies weights from a parsed safetensors file into the model, strictly. */
export function importWeights(model: Module, file: SafetensorsFile, source = 'weights'): void {
  const params = model.namedParameters();
  const expected = new Set(params.map(([n]) => n));
  const missing = params.map(([n]) => n).filter((n) => !file.tensors.has(n));
  const unexpected = [...file.tensors.keys()].filter((n) => !expected.has(n));
  if (missing.length || unexpected.length)
    throw new CheckpointError('CHECKPOINT_MISMATCH', `${source}: ${missing.length ? `missing ${missing.join(', ')}` : ''}${missing.length && unexpected.length ? '; ' : ''}${unexpected.length ? `unexpected ${unexpected.join(', ')}` : ''} (does the config match the weights?)`);
  for (const [name, p] of params) {
    const stored = file.tensors.get(name)!;
    const conv = isConv1DWeight(name) && p.ndim === 2;
    const want = conv ? [p.shape[1]!, p.shape[0]!] : [...p.shape];
    if (stored.shape.length !== want.length || stored.shape.some((d, i) => d !== want[i]))
      throw new CheckpointError('CHECKPOINT_MISMATCH', `${source}: ${name} has shape [${stored.shape.join(', ')}], the model expects [${want.join(', ')}]`);
    const values = toFloat32(stored, name);
    p.f32(name).set(conv ? transpose2d(values, want[0]!, want[1]!) : values);
  }
}

export function saveWeights(model: Module, path: string, metadata: Record<string, string> = {}): void {
  writeSafetensors(path, exportWeights(model), { format: 'pt', ...metadata });
}

export function loadWeights(model: Module, path: string): void {
  importWeights(model, readSafetensors(path), path);
}
