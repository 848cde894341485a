// libFuzzer harness: media bytes as a prompt hands them to llama.cpp (native/mtmd.cpp's
// TokenizeTask): llama-native's checks first (native/media_check.h), then mtmd's decoder
// (mtmd_helper_bitmap_init_from_buf: stb_image for pictures, miniaudio for WAV/MP3/FLAC) and
// mtmd_tokenize, which preprocesses the picture for the projector (resize, pad, normalize).
// The first byte chooses picture or audio; the rest is the file. The language model and the projector
// (the random `mlp` one of scripts/make-projector.mjs) are named by LLAMA_NATIVE_FUZZ_MODEL and
// LLAMA_NATIVE_FUZZ_PROJECTOR (scripts/fuzz.mjs writes them).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "../native/media_check.h"
#include "fuzz_common.h"
#include "llama.h"
#include "mtmd-helper.h"
#include "mtmd.h"

static mtmd_context* g_mtmd = nullptr;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  FuzzQuietInit();
  mtmd_helper_log_set([](enum ggml_log_level, const char*, void*) {}, nullptr);
  const char* model_path = std::getenv("LLAMA_NATIVE_FUZZ_MODEL");
  const char* projector_path = std::getenv("LLAMA_NATIVE_FUZZ_PROJECTOR");
  if (model_path == nullptr || projector_path == nullptr) {
    std::fprintf(stderr, "media_fuzzer: set LLAMA_NATIVE_FUZZ_MODEL and LLAMA_NATIVE_FUZZ_PROJECTOR\n");
    std::abort();
  }
  llama_model* model = llama_model_load_from_file(model_path, llama_model_default_params());
  if (model == nullptr) std::abort();
  mtmd_context_params p = mtmd_context_params_default();
  p.use_gpu = false;
  p.print_timings = false;
  p.n_threads = 1;
  p.warmup = false;
  g_mtmd = mtmd_init_from_file(projector_path, model, p);
  if (g_mtmd == nullptr) std::abort();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool audio = (data[0] & 1) != 0;
  const unsigned char* bytes = data + 1;
  const size_t n = size - 1;
  // a picture of at most 4 Mi pixels: the addon's limit is larger, but the fuzzer's time is better
  // spent on many small inputs than on resizing a few big ones
  // as the addon: audio only to a projector that takes it (native/mtmd.cpp refuses it before decoding)
  if (audio && !mtmd_support_audio(g_mtmd)) return 0;
  if (!llama_native::CheckMediaBytes(bytes, n, audio, 4LL << 20, "media").empty()) return 0;
  mtmd_helper_bitmap_wrapper w = mtmd_helper_bitmap_init_from_buf(g_mtmd, bytes, n, false, mtmd_helper_init_opt_default());
  if (w.bitmap == nullptr) return 0;
  mtmd::bitmap bitmap(w.bitmap);
  if (mtmd_bitmap_is_audio(w.bitmap) != audio) return 0;  // the addon refuses a mismatch here
  mtmd::input_chunks chunks(mtmd_input_chunks_init());
  const std::string text = std::string(mtmd_default_marker()) + " what is this?";
  mtmd_input_text t{text.data(), text.size(), true, true};
  const mtmd_bitmap* bitmaps[] = {w.bitmap};
  mtmd_tokenize(g_mtmd, chunks.ptr.get(), &t, bitmaps, 1);
  return 0;
}
