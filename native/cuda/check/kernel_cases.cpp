// The cases of lmkit_cuda_check: every kernel of the C ABI against the CPU
// kernel on the same inputs — sizes 1, odd, tile-straddling, every
// transpose, mask mode and option. Tolerances, and why:
//   * bitwise: copies, elementwise ops, embedding, AdamW — the same float
//     operations in the same order on both sides (the build disables FMA
//     contraction).
//   * GEMM: |Δ| ≤ 2γ_{k+2}·(|α|·Σ_p|A_ip·B_pj| + |β·C_ij|), the textbook
//     bound for two differently ordered fp32 dot products (γ_n = n·u/(1−n·u),
//     u = 2⁻²⁴), computed per element from |A|·|B|.
//   * reductions (norms, softmax, losses): a few fp32 ulps times the row
//     length's growth; sums in double where the CPU sums in double.
//   * transcendental functions: the device's expf/erff/tanhf and glibc's
//     differ by ≤ 2 ulp; the CPU's vector paths by ≤ 4e-7 absolute.
#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cmath>
#include <cstring>
#include <string>

#include "cpu/cpu_features.h"
#include "cuda/check/check.h"
#include "kernels.h"

namespace lmkit::check {
namespace {

using Vec = std::vector<float>;

std::string str(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string str(const char* fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return buf;
}

Vec absOf(const Vec& x) {
  Vec y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = std::fabs(x[i]);
  return y;
}

// ---------------------------------------------------------------- GEMM

void gemmCase(Check& ck, Rng& rng, int64_t m, int64_t n, int64_t k, bool tA, bool tB, float alpha, float beta,
              int64_t batch, bool broadcastB) {
  const int64_t sa = m * k, sb = broadcastB ? 0 : k * n, sc = m * n;
  Vec a = rng.normals(static_cast<size_t>(sa * batch)), b = rng.normals(static_cast<size_t>((broadcastB ? 1 : batch) * k * n));
  Vec c0 = rng.normals(static_cast<size_t>(sc * batch));
  if (beta == 0.0f && !c0.empty()) c0[0] = NAN;  // beta = 0 must ignore C, NaN included
  GemmShape s{m, n, k, tA, tB, alpha, beta};
  GemmBatch bt{batch, sa, sb, sc};
  Vec want = c0;
  lmkit::gemmBatched(want.data(), a.data(), b.data(), s, bt);
  // Σ|A||B| per element, for the error bound.
  Vec absC(want.size(), 0.0f), absA = absOf(a), absB = absOf(b);
  GemmShape sAbs{m, n, k, tA, tB, 1.0f, 0.0f};
  lmkit::gemmBatched(absC.data(), absA.data(), absB.data(), sAbs, bt);
  const double u = std::ldexp(1.0, -24), gamma = (k + 2) * u / (1 - (k + 2) * u);
  Vec bound(want.size());
  for (size_t i = 0; i < bound.size(); ++i)
    bound[i] = static_cast<float>(2 * gamma * (std::fabs(alpha) * absC[i] + (beta == 0.0f ? 0.0 : std::fabs(beta * c0[i]))) + 1e-30);
  Buffer* da = ck.upload(a);
  Buffer* db = ck.upload(b);
  Buffer* dc = ck.upload(c0);
  if (batch == 1 && !broadcastB) ck.call("gemm", ck.api()->gemm(dc->f(), da->f(), db->f(), &s));
  else ck.call("gemmBatched", ck.api()->gemmBatched(dc->f(), da->f(), db->f(), &s, &bt));
  ck.expectWithin(str("gemm m=%lld n=%lld k=%lld tA=%d tB=%d alpha=%g beta=%g batch=%lld%s: c", (long long)m,
                      (long long)n, (long long)k, tA, tB, alpha, beta, (long long)batch, broadcastB ? " (B broadcast)" : ""),
                  ck.download(dc, want.size()), want, bound);
}

// The tensor-core path against the CPU's fp32: bounded by the two tf32
// roundings of each product (≤ 2·2⁻¹¹ relative each) plus fp32 accumulation.
void gemmTf32Case(Check& ck, Rng& rng, int64_t m, int64_t n, int64_t k, bool tA, bool tB, float alpha, float beta,
                  int64_t batch) {
  Vec a = rng.normals(static_cast<size_t>(m * k * batch)), b = rng.normals(static_cast<size_t>(k * n * batch));
  Vec c0 = rng.normals(static_cast<size_t>(m * n * batch));
  GemmShape s{m, n, k, tA, tB, alpha, beta};
  GemmBatch bt{batch, m * k, k * n, m * n};
  Vec want = c0, absC(want.size(), 0.0f), absA = absOf(a), absB = absOf(b);
  lmkit::gemmBatched(want.data(), a.data(), b.data(), s, bt);
  GemmShape sAbs{m, n, k, tA, tB, 1.0f, 0.0f};
  lmkit::gemmBatched(absC.data(), absA.data(), absB.data(), sAbs, bt);
  const double u = std::ldexp(1.0, -24), gamma = (k + 2) * u / (1 - (k + 2) * u), tf32 = 2 * std::ldexp(1.0, -11) + std::ldexp(1.0, -22);
  Vec bound(want.size());
  for (size_t i = 0; i < bound.size(); ++i)
    bound[i] = static_cast<float>((tf32 + 2 * gamma) * std::fabs(alpha) * absC[i] + 2 * gamma * std::fabs(beta * c0[i]) + 1e-30);
  Buffer *da = ck.upload(a), *db = ck.upload(b), *dc = ck.upload(c0);
  ck.call("gemmBatchedTf32", ck.api()->gemmBatchedTf32(dc->f(), da->f(), db->f(), &s, &bt));
  ck.expectWithin(str("gemm tf32 (tensor cores) m=%lld n=%lld k=%lld tA=%d tB=%d alpha=%g beta=%g batch=%lld: c", (long long)m,
                      (long long)n, (long long)k, tA, tB, alpha, beta, (long long)batch),
                  ck.download(dc, want.size()), want, bound);
  ck.endCase();
}

void gemmCases(Check& ck) {
  Rng rng(1);
  const int64_t shapes[][3] = {{1, 1, 1}, {7, 33, 1}, {33, 7, 65}, {64, 64, 64}, {100, 37, 129}, {1, 300, 77}, {130, 1, 20}};
  for (const auto& sh : shapes)
    for (int t = 0; t < 4; ++t) {
      gemmCase(ck, rng, sh[0], sh[1], sh[2], t & 1, t & 2, 1.0f, 0.0f, 1, false);
      ck.endCase();
    }
  gemmCase(ck, rng, 65, 66, 17, false, true, 0.5f, 1.5f, 1, false);  // alpha, beta accumulate
  gemmCase(ck, rng, 9, 5, 0, false, false, 1.0f, 2.0f, 1, false);    // k = 0: C = beta·C
  gemmCase(ck, rng, 9, 5, 3, false, false, 0.0f, 0.0f, 1, false);    // alpha = 0, beta = 0: zeros
  gemmCase(ck, rng, 17, 19, 23, true, false, 1.0f, 0.0f, 3, false);  // strided batch
  gemmCase(ck, rng, 17, 19, 23, false, true, 1.0f, 1.0f, 4, true);   // broadcast B
  const int64_t tf32Shapes[][3] = {{1, 1, 1}, {16, 8, 8}, {33, 70, 19}, {64, 64, 64}, {130, 67, 45}};
  for (const auto& sh : tf32Shapes)
    for (int t = 0; t < 4; ++t) gemmTf32Case(ck, rng, sh[0], sh[1], sh[2], t & 1, t & 2, 1.0f, 0.0f, 1);
  gemmTf32Case(ck, rng, 40, 24, 30, false, true, 0.5f, 2.0f, 3);
}

// ---------------------------------------------------------------- elementwise, bias, permute, embedding

void elementwiseCases(Check& ck) {
  Rng rng(2);
  for (int64_t n : {1, 7, 1000, 4099}) {
    Vec a = rng.normals(n), b = rng.normals(n), sum(n), prod(n);
    lmkit::elementwiseAdd(sum.data(), a.data(), b.data(), n);
    lmkit::elementwiseMul(prod.data(), a.data(), b.data(), n);
    Buffer *da = ck.upload(a), *db = ck.upload(b), *dout = ck.upload(Vec(n));
    ck.call("elementwiseAdd", ck.api()->elementwiseAdd(dout->f(), da->f(), db->f(), n));
    ck.expectBitwise(str("elementwiseAdd n=%lld", (long long)n), ck.download(dout, n), sum);
    ck.call("elementwiseMul", ck.api()->elementwiseMul(da->f(), da->f(), db->f(), n));  // in place
    ck.expectBitwise(str("elementwiseMul n=%lld (in place)", (long long)n), ck.download(da, n), prod);
    Vec scaled(n);
    for (int64_t i = 0; i < n; ++i) scaled[i] = -0.375f * b[i];
    ck.call("scale", ck.api()->scale(dout->f(), db->f(), -0.375f, n));
    ck.expectBitwise(str("scale n=%lld", (long long)n), ck.download(dout, n), scaled);
    ck.call("fill", ck.api()->fill(dout->f(), 2.5f, n));
    ck.expectBitwise(str("fill n=%lld", (long long)n), ck.download(dout, n), Vec(n, 2.5f));
    ck.endCase();
  }
}

void biasCases(Check& ck) {
  Rng rng(3);
  for (auto [rows, cols] : {std::pair<int64_t, int64_t>{1, 1}, {7, 33}, {300, 5}, {33, 1000}}) {
    Vec x = rng.normals(rows * cols), bias = rng.normals(cols), dbias0 = rng.normals(cols);
    Vec want = x, dbias = dbias0;
    lmkit::biasAdd(want.data(), bias.data(), rows, cols);
    lmkit::biasBackward(dbias.data(), x.data(), rows, cols);
    Buffer *dx = ck.upload(x), *db = ck.upload(bias), *ddb = ck.upload(dbias0);
    ck.call("biasAdd", ck.api()->biasAdd(dx->f(), db->f(), rows, cols));
    ck.expectBitwise(str("biasAdd %lldx%lld", (long long)rows, (long long)cols), ck.download(dx, want.size()), want);
    Buffer* dsrc = ck.upload(x);
    ck.call("biasBackward", ck.api()->biasBackward(ddb->f(), dsrc->f(), rows, cols));
    // Both sum in double and round once: equal but for double rounding order.
    ck.expectClose(str("biasBackward %lldx%lld: dbias (accumulated)", (long long)rows, (long long)cols),
                   ck.download(ddb, cols), dbias, 1e-6, 1e-6);
    ck.endCase();
  }
}

void permuteCases(Check& ck) {
  Rng rng(4);
  struct P {
    std::vector<int64_t> shape;
    std::vector<int32_t> perm;
  };
  const std::vector<P> cases = {{{5}, {0}},
                                {{3, 4}, {1, 0}},
                                {{2, 3, 4, 5}, {3, 1, 0, 2}},
                                {{2, 7, 3, 4, 5}, {2, 0, 3, 1, 4}},  // (B, T, 3, NH, HS) → (3, B, NH, T, HS)
                                {{2, 1, 7, 1, 3}, {4, 2, 0, 1, 3}},
                                {{3, 33, 65}, {0, 2, 1}}};
  for (const P& p : cases) {
    int64_t n = 1;
    for (int64_t d : p.shape) n *= d;
    Vec x = rng.normals(n), want(n);
    const int nd = static_cast<int>(p.shape.size());
    lmkit::permute(want.data(), x.data(), p.shape.data(), p.perm.data(), nd);
    Buffer *dx = ck.upload(x), *dout = ck.upload(Vec(n));
    ck.call("permute", ck.api()->permute(dout->f(), dx->f(), p.shape.data(), p.perm.data(), nd));
    std::string name = "permute shape [";
    for (int64_t d : p.shape) name += std::to_string(d) + ",";
    name += "] perm [";
    for (int32_t d : p.perm) name += std::to_string(d) + ",";
    ck.expectBitwise(name + "]", ck.download(dout, n), want);
    ck.endCase();
  }
}

void embeddingCases(Check& ck) {
  Rng rng(5);
  for (auto [count, vocab, dim] : {std::tuple<int64_t, int64_t, int64_t>{1, 1, 1}, {7, 3, 5}, {100, 11, 33}, {257, 50, 130}}) {
    std::vector<int32_t> ids(count);
    for (int32_t& id : ids) id = rng.below(static_cast<int>(vocab));  // repeats: the scatter-add must sum them
    Vec w = rng.normals(vocab * dim), dout = rng.normals(count * dim), dw0 = rng.normals(vocab * dim);
    Vec out(count * dim), dw = dw0;
    lmkit::embeddingForward(out.data(), ids.data(), w.data(), count, dim);
    lmkit::embeddingBackward(dw.data(), ids.data(), dout.data(), count, dim);
    Buffer *di = ck.upload(ids), *dwt = ck.upload(w), *dgo = ck.upload(dout), *ddw = ck.upload(dw0), *dout2 = ck.upload(Vec(count * dim));
    ck.call("embeddingForward", ck.api()->embeddingForward(dout2->f(), di->i(), dwt->f(), count, dim));
    ck.expectBitwise(str("embeddingForward count=%lld vocab=%lld dim=%lld", (long long)count, (long long)vocab, (long long)dim),
                     ck.download(dout2, out.size()), out);
    ck.call("embeddingBackward", ck.api()->embeddingBackward(ddw->f(), di->i(), dgo->f(), count, dim));
    ck.expectBitwise(str("embeddingBackward count=%lld vocab=%lld dim=%lld: dweight (repeated ids, accumulated)",
                         (long long)count, (long long)vocab, (long long)dim),
                     ck.download(ddw, dw.size()), dw);
    ck.endCase();
  }
}

// ---------------------------------------------------------------- activations

void activationCases(Check& ck) {
  Rng rng(6);
  for (int64_t n : {1, 1000, 4097}) {
    Vec x = rng.normals(n, 3.0f), dout = rng.normals(n);
    x[0] = n > 1 ? -12.0f : 0.5f;  // a deep tail
    for (int variant = 0; variant < 3; ++variant) {
      const bool tanhApprox = variant == 1, silu = variant == 2;
      const char* name = silu ? "silu" : tanhApprox ? "gelu(tanh)" : "gelu";
      Vec y(n), dx(n);
      if (silu) {
        lmkit::siluForward(y.data(), x.data(), n);
        lmkit::siluBackward(dx.data(), dout.data(), x.data(), n);
      } else {
        lmkit::geluForward(y.data(), x.data(), n, tanhApprox);
        lmkit::geluBackward(dx.data(), dout.data(), x.data(), n, tanhApprox);
      }
      Buffer *dxIn = ck.upload(x), *dgo = ck.upload(dout), *dy = ck.upload(Vec(n)), *ddx = ck.upload(Vec(n));
      if (silu) {
        ck.call("siluForward", ck.api()->siluForward(dy->f(), dxIn->f(), n));
        ck.call("siluBackward", ck.api()->siluBackward(ddx->f(), dgo->f(), dxIn->f(), n));
      } else {
        ck.call("geluForward", ck.api()->geluForward(dy->f(), dxIn->f(), n, tanhApprox));
        ck.call("geluBackward", ck.api()->geluBackward(ddx->f(), dgo->f(), dxIn->f(), n, tanhApprox));
      }
      // CPU fast paths: ≤ 5.1e-7 absolute vs float64; device libm: ≤ 2 ulp.
      ck.expectClose(str("%s forward n=%lld", name, (long long)n), ck.download(dy, n), y, 2e-6, 2e-6);
      ck.expectClose(str("%s backward n=%lld", name, (long long)n), ck.download(ddx, n), dx, 2e-6, 2e-6);
      ck.endCase();
    }
  }
}

// ---------------------------------------------------------------- norms

void normCases(Check& ck) {
  Rng rng(7);
  for (auto [rows, cols, shift] : {std::tuple<int64_t, int64_t, float>{1, 1, 0.0f}, {7, 7, 0.0f}, {33, 64, 0.5f},
                                   {5, 300, 0.0f}, {3, 1000, 1000.0f}}) {
    for (int rms = 0; rms < 2; ++rms) {
      Vec x = rng.normals(rows * cols, 1.0f, shift), w = rng.normals(cols), b = rng.normals(cols);
      Vec dy = rng.normals(rows * cols), dw0 = rng.normals(cols), db0 = rng.normals(cols);
      Vec y(x.size()), mean(rows), rstd(rows), dx(x.size()), dw = dw0, db = db0;
      if (rms) {
        lmkit::rmsNormForward(y.data(), rstd.data(), x.data(), w.data(), rows, cols, 1e-6f);
        lmkit::rmsNormBackward(dx.data(), dw.data(), dy.data(), x.data(), w.data(), rstd.data(), rows, cols);
      } else {
        lmkit::layerNormForward(y.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), rows, cols, 1e-5f);
        lmkit::layerNormBackward(dx.data(), dw.data(), db.data(), dy.data(), x.data(), w.data(), mean.data(),
                                 rstd.data(), rows, cols);
      }
      Buffer *dxIn = ck.upload(x), *dwt = ck.upload(w), *dbs = ck.upload(b), *dgo = ck.upload(dy);
      Buffer *dyOut = ck.upload(Vec(x.size())), *dmean = ck.upload(Vec(rows)), *drstd = ck.upload(Vec(rows));
      Buffer *ddx = ck.upload(Vec(x.size())), *ddw = ck.upload(dw0), *ddb = ck.upload(db0);
      const std::string tag = str("%s %lldx%lld shift=%g", rms ? "rmsNorm" : "layerNorm", (long long)rows, (long long)cols, shift);
      if (rms) {
        ck.call("rmsNormForward", ck.api()->rmsNormForward(dyOut->f(), drstd->f(), dxIn->f(), dwt->f(), rows, cols, 1e-6f));
        // The backward reads the CPU's saved statistics, so it is compared on equal inputs.
        Buffer* cpuRstd = ck.upload(rstd);
        ck.call("rmsNormBackward", ck.api()->rmsNormBackward(ddx->f(), ddw->f(), dgo->f(), dxIn->f(), dwt->f(),
                                                             cpuRstd->f(), rows, cols));
      } else {
        ck.call("layerNormForward", ck.api()->layerNormForward(dyOut->f(), dmean->f(), drstd->f(), dxIn->f(), dwt->f(),
                                                               dbs->f(), rows, cols, 1e-5f));
        Buffer *cpuMean = ck.upload(mean), *cpuRstd = ck.upload(rstd);
        ck.call("layerNormBackward", ck.api()->layerNormBackward(ddx->f(), ddw->f(), ddb->f(), dgo->f(), dxIn->f(),
                                                                 dwt->f(), cpuMean->f(), cpuRstd->f(), rows, cols));
      }
      // x̂ is O(1): fp32 reductions over ≤ 1000 terms agree to ~1e-6.
      ck.expectClose(tag + ": out", ck.download(dyOut, y.size()), y, 1e-5, 1e-5);
      if (!rms) ck.expectClose(tag + ": mean", ck.download(dmean, rows), mean, 1e-6, 1e-6);
      ck.expectClose(tag + ": rstd", ck.download(drstd, rows), rstd, 0, 1e-5);
      ck.expectClose(tag + ": dx", ck.download(ddx, dx.size()), dx, 1e-5, 1e-5);
      ck.expectClose(tag + ": dweight (accumulated)", ck.download(ddw, cols), dw, 1e-5, 1e-5);
      if (!rms) ck.expectClose(tag + ": dbias (accumulated)", ck.download(ddb, cols), db, 1e-5, 1e-5);
      ck.endCase();
    }
  }
}

// ---------------------------------------------------------------- cross-entropy, log-probs

void crossEntropyCases(Check& ck) {
  Rng rng(8);
  for (auto [rows, vocab] : {std::pair<int64_t, int64_t>{1, 1}, {7, 5}, {33, 300}, {4, 1025}}) {
    for (float smoothing : {0.0f, 0.1f}) {
      Vec logits = rng.normals(rows * vocab, 4.0f);
      if (rows > 1) logits[1] = 30.0f;  // a peaked row
      std::vector<int32_t> targets(rows);
      for (int64_t r = 0; r < rows; ++r) targets[r] = r % 3 == 1 ? -100 : rng.below(static_cast<int>(vocab));
      Vec dl(logits.size()), losses(rows);
      const CrossEntropyStats want =
          lmkit::softmaxCrossEntropy(dl.data(), losses.data(), logits.data(), targets.data(), rows, vocab, -100, smoothing);
      Buffer *dlog = ck.upload(logits), *dt = ck.upload(targets), *ddl = ck.upload(Vec(logits.size())), *dls = ck.upload(Vec(rows));
      CrossEntropyStats got{0, 0};
      ck.call("softmaxCrossEntropy", ck.api()->softmaxCrossEntropy(&got, ddl->f(), dls->f(), dlog->f(), dt->i(), rows,
                                                                   vocab, -100, smoothing));
      const std::string tag = str("softmaxCrossEntropy rows=%lld vocab=%lld smoothing=%g (ignored rows)", (long long)rows,
                                  (long long)vocab, smoothing);
      ck.expectScalar(tag + ": loss", got.loss, want.loss, 1e-6, 1e-6);
      ck.expectScalar(tag + ": count", static_cast<double>(got.count), static_cast<double>(want.count), 0, 0);
      ck.expectClose(tag + ": losses", ck.download(dls, rows), losses, 1e-6, 1e-6);
      ck.expectClose(tag + ": dlogits", ck.download(ddl, dl.size()), dl, 1e-7, 1e-5);

      // Token log-probs and entropy, forward and backward (every target valid).
      for (int64_t r = 0; r < rows; ++r) targets[r] = rng.below(static_cast<int>(vocab));
      Vec logp(rows), entropy(rows), dlogp = rng.normals(rows), dent = rng.normals(rows), dlp(logits.size()), dlpNoEnt(logits.size());
      lmkit::tokenLogProbs(logp.data(), entropy.data(), logits.data(), targets.data(), rows, vocab);
      lmkit::tokenLogProbsBackward(dlp.data(), logits.data(), targets.data(), dlogp.data(), dent.data(), rows, vocab);
      lmkit::tokenLogProbsBackward(dlpNoEnt.data(), logits.data(), targets.data(), dlogp.data(), nullptr, rows, vocab);
      Buffer *dt2 = ck.upload(targets), *dlpOut = ck.upload(Vec(rows)), *dentOut = ck.upload(Vec(rows));
      Buffer *dga = ck.upload(dlogp), *dgh = ck.upload(dent), *dgrad = ck.upload(Vec(logits.size()));
      ck.call("tokenLogProbs", ck.api()->tokenLogProbs(dlpOut->f(), dentOut->f(), dlog->f(), dt2->i(), rows, vocab));
      const std::string tag2 = str("tokenLogProbs rows=%lld vocab=%lld", (long long)rows, (long long)vocab);
      ck.expectClose(tag2 + ": logp", ck.download(dlpOut, rows), logp, 1e-5, 1e-5);
      ck.expectClose(tag2 + ": entropy", ck.download(dentOut, rows), entropy, 1e-5, 1e-5);
      ck.call("tokenLogProbsBackward", ck.api()->tokenLogProbsBackward(dgrad->f(), dlog->f(), dt2->i(), dga->f(), dgh->f(), rows, vocab));
      ck.expectClose(tag2 + ": dlogits (with dentropy)", ck.download(dgrad, dl.size()), dlp, 1e-6, 1e-5);
      ck.call("tokenLogProbsBackward", ck.api()->tokenLogProbsBackward(dgrad->f(), dlog->f(), dt2->i(), dga->f(), nullptr, rows, vocab));
      ck.expectClose(tag2 + ": dlogits (no dentropy)", ck.download(dgrad, dl.size()), dlpNoEnt, 1e-6, 1e-5);
      ck.endCase();
    }
  }
}

// ---------------------------------------------------------------- PPO

void ppoCases(Check& ck) {
  Rng rng(9);
  for (auto [rows, cols] : {std::pair<int64_t, int64_t>{1, 1}, {7, 33}, {64, 100}}) {
    const int64_t n = rows * cols;
    Vec logp = rng.normals(n, 0.3f, -2.0f), oldLogp(n), refLogp(n), adv = rng.normals(n), mask(n);
    for (int64_t i = 0; i < n; ++i) {
      oldLogp[i] = logp[i] + 0.3f * rng.normal();  // ratios on both sides of the clip range
      refLogp[i] = logp[i] + 0.2f * rng.normal();
      mask[i] = (i % 5 == 3 && n > 1) ? 0.0f : 1.0f;
    }
    if (n > 4) {
      logp[3] = NAN;  // masked out: must be ignored
      adv[1] = 0.0f;  // a tie between the clipped and unclipped terms
    }
    struct Mode {
      bool ref;
      KlMode kl;
      float coef;
    };
    for (const Mode& mode : {Mode{false, KlMode::K1, 0.0f}, Mode{true, KlMode::K1, 0.1f}, Mode{true, KlMode::K3, 0.05f}}) {
      PpoOptions o{rows, cols, 0.2f, mode.coef, mode.kl};
      Vec dlogp(n);
      const PpoStats want = lmkit::ppoLoss(dlogp.data(), logp.data(), oldLogp.data(), mode.ref ? refLogp.data() : nullptr,
                                           adv.data(), mask.data(), o);
      Buffer *a = ck.upload(logp), *b = ck.upload(oldLogp), *c = ck.upload(refLogp), *d = ck.upload(adv), *e = ck.upload(mask);
      Buffer* g = ck.upload(Vec(n));
      PpoStats got{};
      ck.call("ppoLoss", ck.api()->ppoLoss(&got, g->f(), a->f(), b->f(), mode.ref ? c->f() : nullptr, d->f(), e->f(), &o));
      const std::string tag = str("ppoLoss %lldx%lld ref=%d kl=%s klCoef=%g", (long long)rows, (long long)cols, mode.ref,
                                  mode.kl == KlMode::K3 ? "k3" : "k1", mode.coef);
      ck.expectScalar(tag + ": loss", got.loss, want.loss, 1e-6, 1e-5);
      ck.expectScalar(tag + ": policyLoss", got.policyLoss, want.policyLoss, 1e-6, 1e-5);
      ck.expectScalar(tag + ": kl", got.kl, want.kl, 1e-6, 1e-5);
      ck.expectScalar(tag + ": clipFrac", got.clipFrac, want.clipFrac, 1e-12, 0);
      ck.expectScalar(tag + ": approxKl", got.approxKl, want.approxKl, 1e-7, 1e-5);
      ck.expectClose(tag + ": dlogp", ck.download(g, n), dlogp, 1e-7, 1e-5);
      ck.endCase();
    }
    // Value loss on the same mask.
    Vec values = rng.normals(n), oldValues(n), returns = rng.normals(n), dv(n);
    for (int64_t i = 0; i < n; ++i) oldValues[i] = values[i] + 0.3f * rng.normal();
    const ValueLossStats want = lmkit::valueLoss(dv.data(), values.data(), oldValues.data(), returns.data(), mask.data(), n, 0.2f);
    Buffer *a = ck.upload(values), *b = ck.upload(oldValues), *c = ck.upload(returns), *e = ck.upload(mask), *g = ck.upload(Vec(n));
    ValueLossStats got{};
    ck.call("valueLoss", ck.api()->valueLoss(&got, g->f(), a->f(), b->f(), c->f(), e->f(), n, 0.2f));
    const std::string tag = str("valueLoss %lldx%lld", (long long)rows, (long long)cols);
    ck.expectScalar(tag + ": loss", got.loss, want.loss, 1e-7, 1e-5);
    ck.expectScalar(tag + ": clipFrac", got.clipFrac, want.clipFrac, 1e-12, 0);
    ck.expectClose(tag + ": dvalues", ck.download(g, n), dv, 1e-7, 1e-5);
    ck.endCase();
  }
  // An empty mask: zero statistics and zero gradients.
  Vec z(10, 0.0f), x = rng.normals(10);
  Buffer *a = ck.upload(x), *m = ck.upload(z), *g = ck.upload(x);
  PpoOptions o{2, 5, 0.2f, 0.0f, KlMode::K1};
  PpoStats got{1, 1, 1, 1, 1};
  ck.call("ppoLoss", ck.api()->ppoLoss(&got, g->f(), a->f(), a->f(), nullptr, a->f(), m->f(), &o));
  ck.expectScalar("ppoLoss empty mask: loss", got.loss, 0, 0, 0);
  ck.expectBitwise("ppoLoss empty mask: dlogp", ck.download(g, 10), z);
  ck.endCase();
}

// ---------------------------------------------------------------- optimizer

void optimizerCases(Check& ck) {
  Rng rng(10);
  for (int64_t n : {1, 1000, 5003}) {
    for (int withMask = 0; withMask < 2; ++withMask) {
      Vec p = rng.normals(n), m(n, 0.0f), v(n, 0.0f);
      std::vector<uint8_t> mask(n);
      for (int64_t i = 0; i < n; ++i) mask[i] = i % 3 != 0;
      Buffer *dp = ck.upload(p), *dm = ck.upload(m), *dv = ck.upload(v), *dmask = ck.upload(mask);
      for (int64_t step = 1; step <= 3; ++step) {
        Vec g = rng.normals(n);
        AdamWOptions o{1e-3, 0.9, 0.999, 1e-8, 0.1, step};
        lmkit::adamwStep(p.data(), m.data(), v.data(), g.data(), withMask ? mask.data() : nullptr, n, o);
        Buffer* dg = ck.upload(g);
        ck.call("adamwStep", ck.api()->adamwStep(dp->f(), dm->f(), dv->f(), dg->f(), withMask ? dmask->u8() : nullptr, n, &o));
      }
      const std::string tag = str("adamwStep n=%lld decayMask=%d, 3 steps", (long long)n, withMask);
      ck.expectBitwise(tag + ": param", ck.download(dp, n), p);
      ck.expectBitwise(tag + ": m", ck.download(dm, n), m);
      ck.expectBitwise(tag + ": v", ck.download(dv, n), v);
      ck.endCase();
    }
  }
  for (double maxNorm : {0.5, 1e6}) {
    const int64_t sizes[3] = {7, 5000, 1};
    std::vector<Vec> grads;
    std::vector<float*> cpuPtrs, devPtrs;
    std::vector<Buffer*> bufs;
    for (int64_t s : sizes) grads.push_back(rng.normals(s));
    for (Vec& g : grads) {
      bufs.push_back(ck.upload(g));
      cpuPtrs.push_back(g.data());
      devPtrs.push_back(bufs.back()->f());
    }
    const double want = lmkit::clipGradNorm(cpuPtrs.data(), sizes, 3, maxNorm);
    double got = 0;
    ck.call("clipGradNorm", ck.api()->clipGradNorm(&got, devPtrs.data(), sizes, 3, maxNorm));
    const std::string tag = str("clipGradNorm maxNorm=%g", maxNorm);
    ck.expectScalar(tag + ": norm", got, want, 0, 1e-12);
    for (int b = 0; b < 3; ++b)
      ck.expectClose(tag + str(": grads[%d]", b), ck.download(bufs[b], sizes[b]), grads[b], 0, 3e-7);
    ck.endCase();
  }
}

// ---------------------------------------------------------------- attention

struct AttnCase {
  const char* name;
  int64_t B, NH, Tq, Tk, HS;
  bool causal;
  int64_t qOffset;
  std::vector<int32_t> prefixLen, kvLen;
};

void attentionCase(Check& ck, Rng& rng, const AttnCase& c) {
  const int64_t nq = c.B * c.NH * c.Tq * c.HS, nk = c.B * c.NH * c.Tk * c.HS, nl = c.B * c.NH * c.Tq;
  Vec q = rng.normals(nq), k = rng.normals(nk), v = rng.normals(nk), dout = rng.normals(nq);
  AttentionShape s{c.B, c.NH, c.Tq, c.Tk, c.HS, static_cast<float>(1.0 / std::sqrt(static_cast<double>(c.HS))), c.causal,
                   c.qOffset, c.prefixLen.empty() ? nullptr : c.prefixLen.data(), c.kvLen.empty() ? nullptr : c.kvLen.data()};
  Vec out(nq), lse(nl), dq(nq), dk(nk), dv(nk);
  lmkit::attentionForward(out.data(), lse.data(), q.data(), k.data(), v.data(), s);
  lmkit::attentionBackward(dq.data(), dk.data(), dv.data(), dout.data(), q.data(), k.data(), v.data(), out.data(), lse.data(), s);
  Buffer *dQ = ck.upload(q), *dK = ck.upload(k), *dV = ck.upload(v), *dO = ck.upload(dout);
  Buffer *gOut = ck.upload(Vec(nq)), *gLse = ck.upload(Vec(nl));
  Buffer *gdq = ck.upload(Vec(nq)), *gdk = ck.upload(Vec(nk)), *gdv = ck.upload(Vec(nk));
  ck.call("attentionForward", ck.api()->attentionForward(gOut->f(), gLse->f(), dQ->f(), dK->f(), dV->f(), &s));
  // The backward gets the CPU's out and lse, so its comparison isolates the backward kernels.
  Buffer *cOut = ck.upload(out), *cLse = ck.upload(lse);
  ck.call("attentionBackward", ck.api()->attentionBackward(gdq->f(), gdk->f(), gdv->f(), dO->f(), dQ->f(), dK->f(),
                                                           dV->f(), cOut->f(), cLse->f(), &s));
  const std::string tag = str("attention %s B=%lld NH=%lld Tq=%lld Tk=%lld HS=%lld", c.name, (long long)c.B,
                              (long long)c.NH, (long long)c.Tq, (long long)c.Tk, (long long)c.HS);
  // Softmax-weighted sums of O(1) values over ≤ 70 keys in fp32, in a
  // different order: ~1e-6 absolute; gradients sum over as many queries.
  ck.expectClose(tag + ": out", ck.download(gOut, nq), out, 2e-6, 1e-5);
  ck.expectClose(tag + ": lse (−inf on fully masked rows)", ck.download(gLse, nl), lse, 2e-6, 1e-6);
  ck.expectClose(tag + ": dq", ck.download(gdq, nq), dq, 1e-5, 1e-4);
  ck.expectClose(tag + ": dk", ck.download(gdk, nk), dk, 1e-5, 1e-4);
  ck.expectClose(tag + ": dv", ck.download(gdv, nk), dv, 1e-5, 1e-4);
  ck.endCase();
}

void attentionCases(Check& ck) {
  Rng rng(11);
  const std::vector<AttnCase> cases = {
      {"bidirectional", 1, 1, 1, 1, 1, false, 0, {}, {}},
      {"bidirectional", 2, 3, 7, 7, 16, false, 0, {}, {}},
      {"causal", 2, 2, 33, 33, 33, true, 0, {}, {}},
      {"causal", 1, 2, 70, 70, 64, true, 0, {}, {}},
      {"causal", 1, 1, 21, 21, 100, true, 0, {}, {}},
      {"causal", 1, 1, 19, 19, 160, true, 0, {}, {}},
      {"causal decode qOffset", 2, 2, 1, 20, 32, true, 19, {}, {20, 13}},
      {"causal chunk qOffset", 1, 3, 5, 17, 24, true, 7, {}, {}},
      {"prefixLen (GLM)", 3, 2, 23, 23, 16, true, 0, {0, 9, 23}, {}},
      {"kvLen padding (encoder)", 3, 2, 18, 18, 20, false, 0, {}, {18, 5, 1}},
      {"cross-attention tq≠tk", 2, 2, 9, 37, 40, false, 0, {}, {37, 30}},
      {"fully masked rows (kvLen 0)", 2, 1, 6, 6, 8, false, 0, {}, {0, 6}},
      {"causal + kvLen + prefix", 2, 2, 35, 35, 12, true, 0, {4, 0}, {30, 35}},
  };
  for (const AttnCase& c : cases) attentionCase(ck, rng, c);
}

}  // namespace

std::vector<Case> allCases() {
  return {{"gemm", gemmCases},         {"elementwise", elementwiseCases}, {"bias", biasCases},
          {"permute", permuteCases},   {"embedding", embeddingCases},     {"activations", activationCases},
          {"norm", normCases},         {"crossEntropy", crossEntropyCases}, {"ppo", ppoCases},
          {"optimizer", optimizerCases}, {"attention", attentionCases}};
}

}  // namespace lmkit::check
