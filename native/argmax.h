// The greedy choice over a vocabulary's logits: the first index of the greatest value, as llama.cpp's
// greedy sampler picks it (src/llama-sampler.cpp, llama_sampler_greedy_apply: a scan from index 0
// that moves on a strictly greater logit). Header-only and free of llama.cpp, so that
// test/native/programs/argmax_test.cpp can hold it against that very function.
//
// Why not the scan itself: its compare-and-branch chain runs at one element per cycle or so, 27 us
// for a 32,000-token vocabulary here, per generated token and stream (two percent of an 8-stream
// step on bench-134m at two threads, while the other ggml thread spins). Two passes of four-wide
// SSE maxima and compares take 3-4 us.
#pragma once

#include <cstdint>

#if defined(__SSE2__) || defined(_M_X64)
#include <emmintrin.h>
#define LLAMA_NATIVE_ARGMAX_SSE2 1
#endif

namespace llama_native {

// `bias`, when given, is added to each logit first (logit biases, suppressed tokens: -INFINITY).
inline int32_t FirstArgmax(const float* logits, const float* bias, int32_t n) {
  auto at = [&](int32_t i) { return bias != nullptr ? logits[i] + bias[i] : logits[i]; };
  if (n <= 0) return 0;
  const float first = at(0);
  if (first != first) return 0;  // a scan that starts at a NaN keeps it: nothing compares greater
  // 1. The greatest value. NaNs never win: `v > max` is false for them.
  float max = first;
  int32_t i = 0;
#if defined(LLAMA_NATIVE_ARGMAX_SSE2)
  auto load = [&](int32_t k) {
    return bias != nullptr ? _mm_add_ps(_mm_loadu_ps(logits + k), _mm_loadu_ps(bias + k)) : _mm_loadu_ps(logits + k);
  };
  // maxps(v, m) is `v > m ? v : m` lane by lane (a NaN in v, or equal zeros, keep m): the scalar
  // comparison, on four independent running maxima per register
  __m128 m0 = _mm_set1_ps(first), m1 = m0, m2 = m0, m3 = m0;
  for (; i + 16 <= n; i += 16) {
    m0 = _mm_max_ps(load(i), m0);
    m1 = _mm_max_ps(load(i + 4), m1);
    m2 = _mm_max_ps(load(i + 8), m2);
    m3 = _mm_max_ps(load(i + 12), m3);
  }
  alignas(16) float lanes[16];
  _mm_store_ps(lanes, m0);
  _mm_store_ps(lanes + 4, m1);
  _mm_store_ps(lanes + 8, m2);
  _mm_store_ps(lanes + 12, m3);
  for (float l : lanes) max = l > max ? l : max;
#endif
  for (; i < n; i++) {
    const float v = at(i);
    max = v > max ? v : max;
  }
  // 2. Its first index: the one the scan settles on (a later equal value is not greater).
  int32_t k = 0;
#if defined(LLAMA_NATIVE_ARGMAX_SSE2)
  const __m128 target = _mm_set1_ps(max);
  for (; k + 4 <= n; k += 4) {
    const int mask = _mm_movemask_ps(_mm_cmpeq_ps(load(k), target));
    if (mask != 0) return k + (mask & 1 ? 0 : mask & 2 ? 1 : mask & 4 ? 2 : 3);
  }
#endif
  for (; k < n; k++) {
    if (at(k) == max) return k;
  }
  return 0;  // not reached: max is one of the values
}

}  // namespace llama_native
