// FirstArgmax (native/argmax.h) against llama.cpp's own greedy sampler: llama_sampler_greedy_apply,
// cut out of the vendored src/llama-sampler.cpp by test/native/argmax.test.ts into greedy_apply.inc
// (the function as llama.cpp wrote it, compiled here against llama.h's llama_token_data_array).
// Arrays that meet every corner of the comparison: NaN (first and later), infinities, +0 and -0,
// ties, every length from 1 to 70 (the vector and scalar parts), biases of -INFINITY; then random
// 32,000-token vocabularies. Prints one line per case; exits 1 on a failure.
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "argmax.h"
#include "llama.h"

#include "greedy_apply.inc"

namespace {

int failures = 0;
int cases = 0;

// llama.cpp's choice: the candidates are the biased logits in token order, as the logit-bias
// sampler leaves them before greedy runs.
int32_t Oracle(const std::vector<float>& logits, const std::vector<float>* bias) {
  std::vector<llama_token_data> data(logits.size());
  for (size_t i = 0; i < logits.size(); i++) {
    data[i] = {static_cast<llama_token>(i), bias != nullptr ? logits[i] + (*bias)[i] : logits[i], 0.0f};
  }
  llama_token_data_array cur_p = {data.data(), data.size(), -1, false};
  llama_sampler_greedy_apply(nullptr, &cur_p);
  return data[static_cast<size_t>(cur_p.selected)].id;
}

void Compare(const char* what, const std::vector<float>& logits, const std::vector<float>* bias) {
  cases++;
  const int32_t want = Oracle(logits, bias);
  const int32_t got = llama_native::FirstArgmax(logits.data(), bias != nullptr ? bias->data() : nullptr, static_cast<int32_t>(logits.size()));
  if (got != want) {
    failures++;
    std::printf("FAIL %s: n=%zu llama.cpp %d, FirstArgmax %d\n", what, logits.size(), want, got);
  }
}

}  // namespace

int main() {
  std::mt19937 rng(20261204);
  const float corners[] = {NAN, -INFINITY, INFINITY, 0.0f, -0.0f, 1.0f, -1.0f, 2.0f, 3.0e38f, -3.0e38f};
  const float bias_corners[] = {0.0f, 0.0f, -INFINITY, 1.0f, -1.0f, INFINITY};
  for (int round = 0; round < 200000; round++) {
    const size_t n = 1 + rng() % 70;
    std::vector<float> logits(n), bias(n);
    for (float& v : logits) v = corners[rng() % (sizeof corners / sizeof *corners)];
    for (float& v : bias) v = bias_corners[rng() % (sizeof bias_corners / sizeof *bias_corners)];
    Compare("corners", logits, nullptr);
    Compare("corners with bias", logits, &bias);
  }
  std::printf("ok corner arrays\n");
  std::normal_distribution<float> normal(0.0f, 4.0f);
  for (int round = 0; round < 200; round++) {
    std::vector<float> logits(32000), bias(32000, 0.0f);
    for (float& v : logits) v = normal(rng);
    // a tie for the maximum at two random places, and banned tokens
    const size_t a = rng() % 32000, b = rng() % 32000;
    logits[a] = logits[b] = 40.0f;
    for (int k = 0; k < 4; k++) bias[rng() % 32000] = -INFINITY;
    Compare("vocabulary", logits, nullptr);
    Compare("vocabulary with bias", logits, &bias);
  }
  std::printf("ok random vocabularies\n");
  std::printf("%s %d cases, %d failures\n", failures == 0 ? "ok" : "FAIL", cases, failures);
  return failures == 0 ? 0 : 1;
}
