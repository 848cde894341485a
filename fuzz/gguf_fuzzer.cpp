// libFuzzer harness: a GGUF file as llama-native hands it to llama.cpp, loaded with
// llama_model_load_from_file (weights included; fuzz inputs are small), then a context and one
// decode when it loads. A crash here is llama.cpp failing on a model file; scripts/fuzz.mjs then
// checks that llama-native's TypeScript validation (readGgufInfo + checkModelMetadata, run before
// every load) rejects that file.
#include <unistd.h>
#include <cstdint>
#include <cstdio>
#include <string>

#include "fuzz_common.h"
#include "llama.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  FuzzQuietInit();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/dev/shm/llama-native-fuzz-" + std::to_string(getpid()) + ".gguf";
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  llama_model_params mp = llama_model_default_params();
  mp.load_mode = LLAMA_LOAD_MODE_NONE;  // read into memory: no mapping to outlive the file
  llama_model* model = llama_model_load_from_file(path.c_str(), mp);
  if (model != nullptr) {
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = 64;
    cp.n_batch = 8;
    cp.n_ubatch = 8;
    cp.n_threads = cp.n_threads_batch = 1;
    llama_context* ctx = llama_init_from_model(model, cp);
    if (ctx != nullptr) {
      llama_token t = 0;
      llama_decode(ctx, llama_batch_get_one(&t, 1));
      llama_free(ctx);
    }
    llama_model_free(model);
  }
  return 0;
}
