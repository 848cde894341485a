// Embeddings: one task packs whole inputs into batches (one sequence each), decodes (or encodes,
// for encoder-only models) and reads back pooled or per-token vectors.
#pragma once

#include <napi.h>

#include <vector>

#include "context_handle.h"

namespace llama_native {

struct EmbedRequest {
  std::vector<std::vector<llama_token>> inputs;
  bool normalize = true;
  AbortFlagPtr abort;

  // Reads (inputs, normalize, abortFlag) and checks every input fits one batch of this context.
  static EmbedRequest FromJs(const Napi::CallbackInfo& info, const ContextHandle& h);
};

// Runs the request on a thread of its own; `h` must already be claimed (busy) for it. `self` is
// kept alive until the task settles.
Napi::Value StartEmbed(Napi::Env env, ContextHandlePtr h, EmbedRequest req, Napi::Object self);

}  // namespace llama_native
