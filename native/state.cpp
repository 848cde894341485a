// Sequence state save and restore (ctx.getState/setState/saveState; loadState reads the file in
// TypeScript and calls setState). Bytes in and out are llama.cpp's sequence-state file format
// (llama_state_seq_save_file): getState() returns what saveState() writes. Restored bytes are
// checked by CheckSeqState (state_check.h) before llama.cpp reads them.
#include <cstring>

#include "context.h"
#include "log.h"
#include "state_check.h"
#include "task.h"

namespace llama_native {

namespace {

constexpr uint32_t kIoMagic = 0xaf143cd8;  // llama-context.cpp io_magic: llama_state_seq_get/set_data's prefix

// JS thread: claims the context for one state operation; refused while a generation runs.
void RequireIdle(Napi::Env env, ContextHandle& h, const char* what) {
  if (h.embeddings) Throw(env, ErrorKind::Generic, std::string("cannot ") + what + ": an embedding context keeps no sequences");
  bool idle = true;
  if (h.engine) {
    std::lock_guard<std::mutex> lk(h.engine->mutex());
    idle = h.engine->IdleLocked();
  }
  if (!idle) {
    h.busy.store(false);
    Throw(env, ErrorKind::Generic, std::string("cannot ") + what + ": a generation is running on this context");
  }
}

class StateTask : public ThreadTask {
 public:
  enum class Op { Get, Set, Save };
  StateTask(ContextHandlePtr h, Op op, int32_t seq) : ThreadTask(nullptr), h_(std::move(h)), op_(op), seq_(seq) {}
  std::vector<uint8_t> bytes;  // Set: the state to restore; Get: the state read
  std::string path;  // Save

 protected:
  void Execute() override {
    BusyScope busy(*h_, nullptr);
    LogCapture capture;
    llama_context* ctx = h_->ctx;
    auto& tokens = h_->seq_tokens[static_cast<size_t>(seq_)];
    if (op_ == Op::Save) {
      size_t n = llama_state_seq_save_file(ctx, path.c_str(), seq_, tokens.data(), tokens.size());
      if (n == 0) throw NativeError(ErrorKind::Generic, "could not write the state to " + path + Why(capture));
      written_ = n;
      return;
    }
    if (op_ == Op::Get) {
      size_t size = llama_state_seq_get_size(ctx, seq_);
      std::vector<uint8_t> raw(size);
      size_t n = size == 0 ? 0 : llama_state_seq_get_data(ctx, raw.data(), raw.size(), seq_);
      if (n < 8) throw NativeError(ErrorKind::Generic, "llama.cpp returned no state for sequence " + std::to_string(seq_) + Why(capture));
      // llama_state_seq_get_data's own prefix (io magic, sequence id) is not part of the file format
      bytes.resize(kStateHeaderBytes + tokens.size() * 4 + (n - 8));
      uint32_t head[3] = {kStateSeqMagic, kStateSeqVersion, static_cast<uint32_t>(tokens.size())};
      std::memcpy(bytes.data(), head, sizeof(head));
      if (!tokens.empty()) std::memcpy(bytes.data() + kStateHeaderBytes, tokens.data(), tokens.size() * 4);
      std::memcpy(bytes.data() + kStateHeaderBytes + tokens.size() * 4, raw.data() + 8, n - 8);
      return;
    }
    SeqStateCheck check = CheckSeqState(bytes.data(), bytes.size(), h_->model->n_vocab, h_->n_ctx_seq);
    if (!check.ok) {
      // as when llama.cpp refuses a state (below): the sequence is left empty either way
      llama_memory_seq_rm(llama_get_memory(ctx), seq_, -1, -1);
      tokens.clear();
      throw NativeError(ErrorKind::InvalidState, "invalid sequence state: " + check.error);
    }
    std::vector<uint8_t> data(8 + bytes.size() - check.payload_offset);
    uint32_t magic = kIoMagic;
    std::memcpy(data.data(), &magic, 4);
    std::memcpy(data.data() + 4, &seq_, 4);
    std::memcpy(data.data() + 8, bytes.data() + check.payload_offset, bytes.size() - check.payload_offset);
    size_t n = llama_state_seq_set_data(ctx, data.data(), data.size(), seq_);
    if (n != data.size()) {
      // llama.cpp has emptied the sequence when it refused (llama_kv_cache::state_read)
      llama_memory_seq_rm(llama_get_memory(ctx), seq_, -1, -1);
      tokens.clear();
      throw NativeError(
          ErrorKind::InvalidState,
          "invalid sequence state: it does not fit this context (another model, KV cache type or sequence layout)" + Why(capture));
    }
    tokens.assign(check.tokens.begin(), check.tokens.end());
  }
  Napi::Value Result(Napi::Env env) override {
    if (op_ == Op::Get) {
      auto out = Napi::Uint8Array::New(env, bytes.size());
      if (!bytes.empty()) std::memcpy(out.Data(), bytes.data(), bytes.size());
      return out;
    }
    if (op_ == Op::Save) return Napi::Number::New(env, static_cast<double>(written_));
    return Napi::Number::New(env, static_cast<double>(h_->seq_tokens[static_cast<size_t>(seq_)].size()));
  }

 private:
  static std::string Why(const LogCapture& c) {
    std::string t = c.Text();
    return t.empty() ? "" : " (llama.cpp: " + t + ")";
  }
  ContextHandlePtr h_;
  Op op_;
  int32_t seq_;
  size_t written_ = 0;
};

}  // namespace

// getState(seq) → Promise<Uint8Array>
Napi::Value Context::GetState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* self = UnwrapTagged<Context>(info, kContextTag, "Context");
  ContextHandle& h = self->Live(env);
  int32_t seq = ArgSequence(info, 0, h, 0);
  ContextHandlePtr hp = self->Claim(env, "read the state");
  RequireIdle(env, h, "read the state");
  return ThreadTask::Start(env, new StateTask(std::move(hp), StateTask::Op::Get, seq), Napi::Function());
}

// setState(seq, bytes) → Promise<number of tokens restored>
Napi::Value Context::SetState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* self = UnwrapTagged<Context>(info, kContextTag, "Context");
  ContextHandle& h = self->Live(env);
  int32_t seq = ArgSequence(info, 0, h, 0);
  if (info.Length() < 2 || !info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    Throw(env, ErrorKind::Type, "state must be a Uint8Array");
  }
  Napi::Uint8Array arr = info[1].As<Napi::Uint8Array>();
  ContextHandlePtr hp = self->Claim(env, "restore a state");
  RequireIdle(env, h, "restore a state");
  auto* task = new StateTask(std::move(hp), StateTask::Op::Set, seq);
  task->bytes.assign(arr.Data(), arr.Data() + arr.ElementLength());  // a copy: JS may change its buffer meanwhile
  return ThreadTask::Start(env, task, Napi::Function());
}

// saveState(seq, path) → Promise<bytes written>
Napi::Value Context::SaveState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* self = UnwrapTagged<Context>(info, kContextTag, "Context");
  ContextHandle& h = self->Live(env);
  int32_t seq = ArgSequence(info, 0, h, 0);
  std::string path = ArgString(info, 1, "path");
  ContextHandlePtr hp = self->Claim(env, "save the state");
  RequireIdle(env, h, "save the state");
  auto* task = new StateTask(std::move(hp), StateTask::Op::Save, seq);
  task->path = std::move(path);
  return ThreadTask::Start(env, task, Napi::Function());
}

}  // namespace llama_native
