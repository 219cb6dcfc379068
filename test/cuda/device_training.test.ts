// The TypeScript device path end to end on the emulated CUDA device (the
// CPU emulation library behind the real loader, C ABI and allocator): the
// same DecoderLM training steps and greedy decoding on 'cpu' and on 'cuda',
// with nothing but the device chosen, and the error paths of device memory.
//
// Tolerances of the training comparison. Each step starts both models from
// the same parameters (the CPU's are copied over), so what is compared is
// one step, not accumulated drift. GEMM, permute, embedding, bias and AdamW
// kernels give the CPU's bits; LayerNorm, softmax cross-entropy and attention
// sum in another order (≈1e-7 relative per op, native/cuda/check/
// kernel_cases.cpp): loss within 1e-5 relative, every gradient within 1e-4
// of its tensor's largest entry. The update: AdamW divides each gradient by
// its own running RMS, so an element whose gradient is rounding noise (the
// key bias of attention has an exact gradient of 0) moves by ±lr with an
// arbitrary sign on either device — every element must agree within 2·lr,
// and elements with a real gradient (≥ 1% of the tensor's largest) within
// 1% of one step.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { emuLibrary, emulationMissing, repoRoot } from '../helpers/cuda_emulation.js';

// npm run test:gpu sets LMKIT_TEST_CUDA_LIBRARY to the real library; otherwise the emulation build.
const realGpu = process.env.LMKIT_TEST_CUDA_LIBRARY;
const library = realGpu ?? emuLibrary;
const missing = realGpu ? (existsSync(realGpu) ? false : `${realGpu} does not exist`) : emulationMissing();
// The backend is looked for once per process: point it at the library first.
if (!missing) process.env.LMKIT_CUDA_LIBRARY = library;

const { backendInfo, cudaMemoryStats } = await import('../../lib/runtime.js');
const { DecoderLM } = await import('../../lib/models/decoder.js');
const { AdamW } = await import('../../lib/optim/adamw.js');
const { Tensor, tensor } = await import('../../lib/tensor/tensor.js');
const { backward } = await import('../../lib/tensor/autograd.js');
const { add } = await import('../../lib/tensor/ops/elementwise.js');
const { copyInto, f32On, toHostF32 } = await import('../../lib/tensor/device.js');
const { generate } = await import('../../lib/generate/generate.js');
const { CharTokenizer } = await import('../../lib/tokenizer/char.js');
const kernels = await import('../../lib/kernels/index.js');
type CudaArray = import('../../lib/native.js').CudaArray;

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  let scale = 0, diff = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]!));
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
  }
  return scale === 0 ? diff : diff / scale;
}

const configs = {
  gpt2: { vocab_size: 29, n_positions: 24, n_embd: 32, n_layer: 2, n_head: 2, dropout: 0.1 },
  llama: { vocab_size: 29, n_positions: 24, n_embd: 32, n_layer: 2, n_head: 4, position_embedding: 'rope', norm: 'rmsnorm', activation_function: 'swiglu', bias: false },
} as const;

t.test(`backendInfo reports the ${realGpu ? 'GPU' : 'emulated device'}`, { skip: missing }, async (t) => {
  const info = backendInfo();
  t.equal(info.cuda.available, true, info.cuda.reason);
  t.equal(info.cuda.device?.emulated, !realGpu, `device: ${info.cuda.device?.name}`);
  t.equal(info.backend, 'cuda');
});

t.test('tensors: explicit transfer, no silent host access, one device per op', { skip: missing }, async (t) => {
  const x = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
  const onDevice = x.to('cuda');
  t.equal(onDevice.device, 'cuda');
  t.equal(x.to('cpu'), x, 'to() the device it is on is the tensor itself');
  t.same([...toHostF32(onDevice.f32Buffer())], [1, 2, 3, 4, 5, 6], 'round trip');
  t.same([...onDevice.to('cpu').f32()], [1, 2, 3, 4, 5, 6]);
  t.throws(() => onDevice.data, { name: 'DeviceError', code: 'TENSOR_ON_DEVICE', message: /is on cuda; copy it to the host with \.to\('cpu'\)/ });
  t.throws(() => add(x, onDevice), { name: 'DeviceError', code: 'DEVICE_MISMATCH' });
  t.throws(() => kernels.elementwiseAdd(x.f32(), onDevice.f32Buffer(), x.f32()), { name: 'TypeError', message: /b is on cuda but a is on cpu/ });
  t.equal(add(onDevice, onDevice).to('cpu').f32()[5], 12);
});

for (const [name, config] of Object.entries(configs)) {
  t.test(`${name}: 3 training steps on 'cuda' equal the same steps on 'cpu' (loss, every gradient, every parameter)`, { skip: missing }, async (t) => {
    const cpu = new DecoderLM(config, 7);
    const gpu = new DecoderLM(config, 7).to('cuda');
    t.equal(gpu.device, 'cuda');
    const optCpu = new AdamW(cpu.namedParameters(), { lr: 3e-3, weightDecay: 0.1 });
    const optGpu = new AdamW(gpu.namedParameters(), { lr: 3e-3, weightDecay: 0.1 });
    const B = 2, T = 11, lr = 3e-3;
    let worstGrad = 0, worstParam = 0, worstNoise = 0;
    const pc = cpu.namedParameters(), pg = gpu.namedParameters();
    for (let step = 0; step < 3; step++) {
      for (let i = 0; i < pc.length; i++) copyInto(pg[i]![1].f32Buffer(), f32On(pc[i]![1].f32(), 'cuda'));
      const ids = new Tensor(Int32Array.from({ length: B * T }, (_, i) => (i * 7 + step * 3) % config.vocab_size), [B, T]);
      const targets = new Tensor(Int32Array.from({ length: B * T }, (_, i) => (i % 5 === 4 ? -100 : (i * 5 + step + 1) % config.vocab_size)), [B, T]);
      const lossCpu = cpu.loss(ids, targets), lossGpu = gpu.loss(ids, targets); // ids and targets stay on the host
      t.ok(Math.abs(lossCpu.item() - lossGpu.item()) <= 1e-5 * Math.abs(lossCpu.item()), `step ${step}: loss ${lossGpu.item()} vs ${lossCpu.item()}`);
      backward(lossCpu);
      backward(lossGpu);
      const normCpu = optCpu.clipGradNorm(1.0), normGpu = optGpu.clipGradNorm(1.0);
      t.ok(Math.abs(normCpu - normGpu) <= 1e-4 * normCpu, `step ${step}: grad norm ${normGpu} vs ${normCpu}`);
      const grads = pc.map(([, p]) => p.grad!.slice());
      for (let i = 0; i < pc.length; i++) {
        const d = maxRelDiff(toHostF32(pg[i]![1].gradBuffer!), pc[i]![1].grad!);
        worstGrad = Math.max(worstGrad, d);
        if (d > 1e-4) t.fail(`step ${step}: ${pc[i]![0]} gradient differs by ${d.toExponential(2)} of its largest entry`);
      }
      optCpu.update();
      optGpu.update();
      optCpu.zeroGrad();
      optGpu.zeroGrad();
      for (let i = 0; i < pc.length; i++) {
        const a = pg[i]![1].to('cpu').f32(), b = pc[i]![1].f32(), g = grads[i]!;
        const gmax = g.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        for (let j = 0; j < a.length; j++) {
          const d = Math.abs(a[j]! - b[j]!);
          if (Math.abs(g[j]!) >= 0.01 * gmax) worstParam = Math.max(worstParam, d / lr);
          else worstNoise = Math.max(worstNoise, d / lr);
        }
      }
    }
    t.ok(worstGrad <= 1e-4, `every gradient within 1e-4 of its largest entry (worst ${worstGrad.toExponential(2)})`);
    t.ok(worstParam <= 0.01, `updates of elements with a real gradient agree within 1% of a step (worst ${worstParam.toExponential(2)} of lr)`);
    t.ok(worstNoise <= 2, `every update agrees within 2·lr (worst ${worstNoise.toExponential(2)} of lr, on noise-level gradients)`);
    const stats = cudaMemoryStats();
    t.ok(stats.cacheHits > 0, `the caching allocator reused blocks (${stats.cacheHits} hits of ${stats.allocations})`);
  });
}

t.test('greedy decoding with a KV cache on cuda picks the same tokens as on cpu', { skip: missing }, async (t) => {
  const tokenizer = CharTokenizer.fromCorpus('abcdefghij ');
  const config = { vocab_size: tokenizer.vocabSize, n_positions: 32, n_embd: 16, n_layer: 2, n_head: 2 };
  const cpu = new DecoderLM(config, 3), gpu = new DecoderLM(config, 3).to('cuda');
  const o = { maxNewTokens: 12, temperature: 0, stopTokens: [] };
  const a = generate(cpu, tokenizer, ['abc', 'hij a'], o), b = generate(gpu, tokenizer, ['abc', 'hij a'], o);
  t.same(b.map((r) => r[0]!.ids), a.map((r) => r[0]!.ids));
  t.ok(a[0]![0]!.ids.length >= 12, 'generated tokens');
});

t.test('device memory: dispose() returns memory to the cache; exhaustion is a JS error naming the sizes', { skip: missing }, async (t) => {
  if (realGpu) {
    t.pass('on a real GPU only dispose() is checked here (the exhaustion case needs the emulated device\'s memory cap)');
  }
  const x = new Tensor(new Float32Array(1 << 16), [1 << 16]).to('cuda');
  const held = cudaMemoryStats().allocatedBytes;
  x.dispose();
  // A garbage collection in between could only free more.
  t.ok(held - cudaMemoryStats().allocatedBytes >= 1 << 18, 'dispose() gives back the 256 KiB at once');
  t.throws(() => x.f32Buffer().subarray(0, 1), /used after dispose/);
  if (realGpu) return;
  // A fresh process whose emulated device holds 1 MiB.
  const script = `import(${JSON.stringify(path.join(repoRoot, 'lib', 'tensor', 'tensor.ts'))}).then(({ Tensor }) => {
    try { new Tensor(new Float32Array(1 << 20), [1 << 20]).to('cuda'); console.log('no error'); }
    catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })); } });`;
  const r = spawnSync(process.execPath, [...process.execArgv, '-e', script], {
    env: { ...process.env, LMKIT_CUDA_LIBRARY: emuLibrary, LMKIT_EMU_DEVICE_MEMORY: String(1 << 20) }, encoding: 'utf8',
  });
  const err = JSON.parse(r.stdout.trim().split('\n').pop()!) as { name: string; code: string; message: string };
  t.equal(err.code, 'ERR_LMKIT_CUDA');
  t.match(err.message, /CUDA out of memory: tried to allocate 4 MiB \(4194304 bytes\); lmkit holds \d+ MiB in live tensors, the device has 1 MiB free of 1 MiB/);
  t.equal(r.stderr, '');
});

t.test('device-memory entries reject bad arguments with a TypeError/RangeError naming them', { skip: missing }, async (t) => {
  const { addon } = await import('../../lib/native.js');
  const d = addon.cudaUpload(new Float32Array(4));
  t.throws(() => addon.cudaAlloc('float64' as 'float32', 4, false), { name: 'TypeError', message: /cudaAlloc: expected one of 'float32', 'int32', 'uint8' for dtype/ });
  t.throws(() => addon.cudaAlloc('float32', -1, false), { name: 'RangeError', message: /non-negative integer for length/ });
  t.throws(() => addon.cudaAlloc('float32', 1.5, false), { name: 'RangeError' });
  t.throws(() => addon.cudaUpload([1, 2] as unknown as Float32Array), { name: 'TypeError', message: /cudaUpload: expected a Float32Array/ });
  t.throws(() => addon.cudaDownload(d, new Float32Array(3)), { name: 'TypeError', message: /host array of 4 float32 elements/ });
  t.throws(() => addon.cudaDownload(d, new Int32Array(4)), { name: 'TypeError' });
  t.throws(() => addon.cudaDownload(new Float32Array(4) as unknown as CudaArray, new Float32Array(4)), { name: 'TypeError', message: /expected a CudaArray for src/ });
  t.throws(() => addon.cudaCopy(d, addon.cudaUpload(new Float32Array(5))), { name: 'RangeError', message: /dst is 4 float32, src is 5 float32/ });
  t.throws(() => addon.cudaFill(addon.cudaUpload(new Int32Array(2)), 1), { name: 'TypeError' });
  t.throws(() => d.subarray(2, 9), { name: 'RangeError', message: /not an integer range inside \[0, 4\)/ });
  t.throws(() => new (addon.CudaArray as unknown as new () => CudaArray)(), { name: 'TypeError', message: /not constructible from JS/ });
});

t.test('a CUDA-side refusal surfaces as a JS error with the library\'s message', { skip: missing }, async (t) => {
  const q = new Tensor(new Float32Array(300), [1, 1, 1, 300]).to('cuda');
  const out = new Tensor(new Float32Array(300), [300]).to('cuda'), lse = new Tensor(new Float32Array(1), [1]).to('cuda');
  t.throws(() => kernels.attentionForward(q.f32Buffer(), q.f32Buffer(), q.f32Buffer(), out.f32Buffer(), lse.f32Buffer(), { batch: 1, heads: 1, tq: 1, tk: 1, headDim: 300 }),
    { code: 'ERR_LMKIT_CUDA', message: /attentionForward: the CUDA kernel supports headDim ≤ 256, got 300/ });
});
