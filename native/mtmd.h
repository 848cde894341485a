// Projector: wraps llama.cpp's mtmd_context (tools/mtmd), the vision/audio encoder of a multimodal
// model ("mmproj" GGUF) loaded beside a language model. It decodes media bytes into bitmaps and
// tokenizes a prompt with media markers into chunks (MediaPrompt, on a thread of its own); the
// context's engine then encodes each media chunk and decodes its embeddings into the KV cache
// (Stream::DecodeMedia in generation.cpp) before the text after the last medium joins the batch.
#pragma once

#include <napi.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common.h"
#include "model.h"

struct mtmd_context;
struct mtmd_input_chunks;
struct mtmd_input_chunk;

namespace llama_native {

struct ProjectorHandle {
  ModelHandlePtr model;  // the language model it feeds; outlives the projector
  mtmd_context* ctx = nullptr;
  bool vision = false;
  bool audio = false;
  int32_t audio_rate = -1;
  int64_t max_pixels = 0;  // larger pictures are refused before they are decoded
  std::mutex encode_mu;  // mtmd_encode_chunk and its output buffer serve one encode at a time
  ~ProjectorHandle();
};
using ProjectorHandlePtr = std::shared_ptr<ProjectorHandle>;

// A prompt tokenized by mtmd: its chunks, and the token list the engine works with, where each
// position of a medium holds a negative pseudo token derived from the medium's SHA-256 (so that the
// prefix cache matches the same picture again, and never a different one).
struct MediaPrompt {
  struct Span {
    size_t begin = 0;
    size_t end = 0;
    const mtmd_input_chunk* chunk = nullptr;
    bool media = false;
  };
  ProjectorHandlePtr projector;
  mtmd_input_chunks* chunks = nullptr;  // owned
  std::vector<Span> spans;
  std::vector<llama_token> tokens;
  size_t media_end = 0;  // just past the last medium
  size_t media_tokens = 0;
  ~MediaPrompt();
  // The start of the medium that `n` falls inside (a medium is reused whole or decoded again), else n.
  size_t SnapPrefix(size_t n) const;
};
using MediaPromptPtr = std::shared_ptr<MediaPrompt>;

extern const napi_type_tag kProjectorTag;
extern const napi_type_tag kMediaPromptTag;

// The MediaPrompt behind an External made by Projector.tokenize, or nullptr when `value` is not one.
MediaPromptPtr MediaPromptFromValue(Napi::Env env, Napi::Value value);

class Projector : public Wrapped<Projector> {
 public:
  static Napi::Function Init(Napi::Env env);
  static Napi::Value Load(const Napi::CallbackInfo& info);  // (model, path, { threads, maxPixels, useGpu }) → Promise<Projector>
  static Napi::Object NewInstance(Napi::Env env, ProjectorHandlePtr handle);

  explicit Projector(const Napi::CallbackInfo& info);

 private:
  Napi::Value Info(const Napi::CallbackInfo& info);
  // (text, [{ audio: bool, data: Uint8Array }], addSpecial, parseSpecial) → Promise<External MediaPrompt>
  Napi::Value Tokenize(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value GetDisposed(const Napi::CallbackInfo& info);
  ProjectorHandlePtr& Live(Napi::Env env);

  ProjectorHandlePtr handle_;
};

}  // namespace llama_native
