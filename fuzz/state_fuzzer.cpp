// libFuzzer harness: sequence-state bytes through llama-native's restore path (ctx.setState,
// ctx.loadState): CheckSeqState (native/state_check.cpp) first, then, for what it accepts,
// llama_state_seq_set_data and one decode after the restored tokens, as the next generation would.
// A crash here is input the check lets through. Model: LLAMA_NATIVE_FUZZ_STATE_MODEL (scripts/fuzz.mjs
// names the committed fuzz/corpus/gguf/tiny-f32.gguf); seeds from fuzz/make-seeds.mjs are states of
// that model in a context of 64 cells and one sequence, like the one made here.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <vector>

#include "../native/state_check.h"
#include "fuzz_common.h"
#include "llama.h"

static llama_model* g_model;
static llama_context* g_ctx;
static int32_t g_n_vocab;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  FuzzQuietInit();
  const char* path = std::getenv("LLAMA_NATIVE_FUZZ_STATE_MODEL");
  if (path == nullptr) std::abort();
  g_model = llama_model_load_from_file(path, llama_model_default_params());
  if (g_model == nullptr) std::abort();
  llama_context_params cp = llama_context_default_params();
  cp.n_ctx = 64;
  cp.n_batch = 64;
  cp.n_ubatch = 64;
  cp.n_seq_max = 1;
  cp.n_threads = 1;
  cp.n_threads_batch = 1;
  g_ctx = llama_init_from_model(g_model, cp);
  if (g_ctx == nullptr) std::abort();
  g_n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(g_model));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace llama_native;
  const int32_t n_ctx_seq = static_cast<int32_t>(llama_n_ctx_seq(g_ctx));
  SeqStateCheck check = CheckSeqState(data, size, g_n_vocab, n_ctx_seq);
  if (!check.ok) return 0;
  std::vector<uint8_t> buf(8 + size - check.payload_offset);
  const uint32_t magic = 0xaf143cd8;  // llama-context.cpp io_magic
  const int32_t seq = 0;
  std::memcpy(buf.data(), &magic, 4);
  std::memcpy(buf.data() + 4, &seq, 4);
  std::memcpy(buf.data() + 8, data + check.payload_offset, size - check.payload_offset);
  try {
    llama_memory_t mem = llama_get_memory(g_ctx);
    if (llama_state_seq_set_data(g_ctx, buf.data(), buf.size(), seq) != buf.size()) {
      llama_memory_seq_rm(mem, seq, -1, -1);
      return 0;
    }
    // the next generation decodes its first new token after the restored ones
    const int32_t n = static_cast<int32_t>(check.tokens.size());
    if (n < n_ctx_seq) {
      llama_batch b = llama_batch_init(1, 0, 1);
      b.n_tokens = 1;
      b.token[0] = n > 0 ? check.tokens.back() : 1;
      b.pos[0] = n;
      b.n_seq_id[0] = 1;
      b.seq_id[0][0] = seq;
      b.logits[0] = true;
      llama_decode(g_ctx, b);
      llama_batch_free(b);
    }
    llama_memory_seq_rm(mem, seq, -1, -1);
  } catch (const std::exception&) {
    // llama-native turns C++ exceptions into JS errors; only a crash counts
  }
  return 0;
}
