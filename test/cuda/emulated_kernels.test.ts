// Every CUDA kernel, compiled from native/cuda/*.cu by the host compiler over
// the emulation harness, against the CPU kernels on the same inputs (odd
// sizes, every transpose, mask mode and option: native/cuda/check/
// kernel_cases.cpp), plus the harness's own semantics and fault reports.
// Each JSON line the programs print becomes one assertion here.
import t from 'tap';
import type { Test } from 'tap';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { emuDir, emuLibrary, emulationMissing } from '../helpers/cuda_emulation.js';

interface CheckLine {
  check?: string;
  ok?: boolean;
  maxError?: number;
  ratio?: number;
  note?: string;
  summary?: boolean;
  checks?: number;
  failures?: number;
  device?: string;
  emulated?: boolean;
}

function run(program: string, args: string[]): { lines: CheckLine[]; status: number | null; stderr: string } {
  const r = spawnSync(path.join(emuDir, program), args, {
    encoding: 'utf8',
    env: { ...process.env, LMKIT_NUM_THREADS: '1' },
    maxBuffer: 64 << 20,
  });
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as CheckLine);
  return { lines, status: r.status, stderr: r.stderr };
}

function assertLines(t: Test, lines: CheckLine[]): void {
  for (const l of lines) {
    if (l.check === undefined) continue;
    t.ok(l.ok, `${l.check}: max |Δ| ${l.maxError}, ${(l.ratio ?? 0).toPrecision(2)} of the allowed error${l.note ? ` (${l.note})` : ''}`);
  }
}

const missing = emulationMissing();

t.test('emulation harness: shuffles, votes, barriers, atomics and the faults it must report', { skip: missing }, async (t) => {
  const { lines, status, stderr } = run('lmkit_cuda_emu_selftest', []);
  assertLines(t, lines);
  const summary = lines.find((l) => l.summary);
  t.ok(summary && summary.checks! >= 15, `ran ${summary?.checks} self-checks`);
  t.equal(status, 0, `exit status (stderr: ${stderr.trim() || 'empty'})`);
});

t.test('every CUDA kernel (emulated) matches the CPU kernel', { skip: missing }, async (t) => {
  const { lines, status, stderr } = run('lmkit_cuda_check', [emuLibrary]);
  t.equal(lines[0]?.emulated, true, `ran on ${lines[0]?.device}`);
  assertLines(t, lines);
  // Every entry of the C ABI's kernel table was exercised.
  const names = lines.flatMap((l) => (l.check ? [l.check] : []));
  const kernels = ['gemm m=', 'gemm tf32 (tensor cores)', 'elementwiseAdd', 'elementwiseMul', 'scale', 'fill', 'biasAdd', 'biasBackward', 'permute',
    'embeddingForward', 'embeddingBackward', 'gelu forward', 'gelu backward', 'gelu(tanh)', 'silu forward', 'silu backward',
    'layerNorm', 'rmsNorm', 'softmaxCrossEntropy', 'tokenLogProbs', 'ppoLoss', 'valueLoss', 'adamwStep', 'clipGradNorm'];
  for (const k of kernels) t.ok(names.some((n) => n.startsWith(k)), `${k.trim()} was checked`);
  const masks = ['bidirectional', 'causal B', 'causal decode qOffset', 'causal chunk qOffset', 'prefixLen (GLM)',
    'kvLen padding', 'cross-attention', 'fully masked rows', 'causal + kvLen + prefix'];
  for (const m of masks) t.ok(names.some((n) => n.startsWith(`attention ${m}`) && n.endsWith(': dq')), `attention ${m}: forward and backward checked`);
  const summary = lines.find((l) => l.summary);
  t.ok(summary && summary.checks! > 300, `${summary?.checks} tensors compared`);
  t.equal(status, 0, `exit status (stderr: ${stderr.trim() || 'empty'})`);
});
