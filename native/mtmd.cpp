#include "mtmd.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>

#include "addon.h"
#include "log.h"
#include "media_check.h"
#include "mtmd-helper.h"
#include "task.h"

namespace llama_native {

const napi_type_tag kProjectorTag = {0x6c6c616d615f6e61ULL, 0x50726f6a00000010ULL};
const napi_type_tag kMediaPromptTag = {0x6c6c616d615f6e61ULL, 0x4d65646961000011ULL};

namespace {

Napi::FunctionReference& ProjectorCtor(Napi::Env env);

class ProjectorLoadTask : public ThreadTask {
 public:
  ProjectorLoadTask(ModelHandlePtr model, std::string path, int32_t threads, bool use_gpu, int64_t max_pixels)
      : ThreadTask(nullptr),
        model_(std::move(model)),
        path_(std::move(path)),
        threads_(threads),
        use_gpu_(use_gpu),
        max_pixels_(max_pixels) {}

 protected:
  void Execute() override {
    LogCapture capture;
    mtmd_context_params p = mtmd_context_params_default();
    p.use_gpu = use_gpu_;
    p.print_timings = false;
    p.n_threads = threads_;
    p.warmup = false;  // the first image pays for the graph; a load stays a load
    mtmd_context* ctx = nullptr;
    try {
      ctx = mtmd_init_from_file(path_.c_str(), model_->model, p);
    } catch (const std::exception& e) {
      throw NativeError(ErrorKind::Load, "failed to load projector " + path_ + ": " + e.what());
    }
    if (ctx == nullptr) {
      std::string why = capture.Text();
      throw NativeError(ErrorKind::Load, "failed to load projector " + path_ + (why.empty() ? "" : ": " + why));
    }
    handle_ = std::make_shared<ProjectorHandle>();
    handle_->model = model_;
    handle_->ctx = ctx;
    handle_->vision = mtmd_support_vision(ctx);
    handle_->audio = mtmd_support_audio(ctx);
    handle_->audio_rate = mtmd_get_audio_sample_rate(ctx);
    handle_->max_pixels = max_pixels_;
    if (mtmd_decode_use_mrope(ctx)) {
      handle_.reset();  // frees ctx
      throw NativeError(ErrorKind::Load, "projector " + path_ +
                                             " places its embeddings with M-RoPE positions (Qwen2-VL family), which llama-native "
                                             "does not support yet");
    }
    if (!handle_->vision && !handle_->audio) {
      handle_.reset();
      throw NativeError(ErrorKind::Load, "projector " + path_ + " has neither a vision nor an audio encoder");
    }
  }
  Napi::Value Result(Napi::Env env) override { return Projector::NewInstance(env, handle_); }

 private:
  ModelHandlePtr model_;
  std::string path_;
  int32_t threads_;
  bool use_gpu_;
  int64_t max_pixels_;
  ProjectorHandlePtr handle_;
};

struct MediaInput {
  bool audio = false;
  std::vector<unsigned char> bytes;
};

// A stable pseudo token for every position of one medium: negative, from its SHA-256 (hex) id (31
// bits of FNV-1a over it: two different media collide with probability 2^-31). A medium without an
// id gets a value of its own, so that no other medium matches it.
std::atomic<uint32_t> g_unnamed_media{0};
llama_token PseudoToken(const char* id) {
  uint32_t h = 2166136261u;
  if (id != nullptr && id[0] != '\0') {
    for (const char* c = id; *c; c++) h = (h ^ static_cast<unsigned char>(*c)) * 16777619u;
  } else {
    h ^= (g_unnamed_media.fetch_add(1) + 1u) * 0x9e3779b9u;
  }
  return -1 - static_cast<llama_token>(h & 0x7ffffffeu);
}

class TokenizeTask : public ThreadTask {
 public:
  TokenizeTask(ProjectorHandlePtr p, std::string text, std::vector<MediaInput> media, bool add_special, bool parse_special)
      : ThreadTask(nullptr),
        p_(std::move(p)),
        text_(std::move(text)),
        media_(std::move(media)),
        add_special_(add_special),
        parse_special_(parse_special) {}

 protected:
  void Execute() override {
    LogCapture capture;
    mtmd_context* ctx = p_->ctx;
    std::vector<mtmd::bitmap> bitmaps;
    for (size_t i = 0; i < media_.size(); i++) {
      const MediaInput& m = media_[i];
      const std::string name = "media[" + std::to_string(i) + "]";
      if (m.audio && !p_->audio) throw NativeError(ErrorKind::InvalidMedia, name + " is audio, but this projector takes only images");
      if (!m.audio && !p_->vision) throw NativeError(ErrorKind::InvalidMedia, name + " is an image, but this projector takes only audio");
      const std::string bad = CheckMediaBytes(m.bytes.data(), m.bytes.size(), m.audio, p_->max_pixels, name);
      if (!bad.empty()) throw NativeError(ErrorKind::InvalidMedia, bad);
      mtmd_helper_bitmap_wrapper wrapped{nullptr, nullptr};
      wrapped = mtmd_helper_bitmap_init_from_buf(ctx, m.bytes.data(), m.bytes.size(), false, mtmd_helper_init_opt_default());
      if (wrapped.bitmap == nullptr) {
        std::string why = capture.Text();
        const char* stb = m.audio ? nullptr : stbi_failure_reason();
        if (why.empty() && stb != nullptr) why = stb;
        throw NativeError(ErrorKind::InvalidMedia,
                          name + (m.audio ? " is not audio llama.cpp can decode (WAV, MP3, FLAC)" : " could not be decoded as an image") +
                              (why.empty() ? "" : ": " + why));
      }
      bitmaps.emplace_back(wrapped.bitmap);
      if (mtmd_bitmap_is_audio(wrapped.bitmap) != m.audio) {
        throw NativeError(ErrorKind::InvalidMedia, name + " was given as " + (m.audio ? "audio" : "an image") + " but its bytes are " +
                                                       (m.audio ? "an image" : "audio"));
      }
      if (m.audio && mtmd_bitmap_get_n_bytes(wrapped.bitmap) == 0) throw NativeError(ErrorKind::InvalidMedia, name + " holds no samples");
    }
    std::vector<const mtmd_bitmap*> ptrs;
    for (auto& b : bitmaps) ptrs.push_back(b.ptr.get());
    auto mp = std::make_shared<MediaPrompt>();
    mp->projector = p_;
    mp->chunks = mtmd_input_chunks_init();
    mtmd_input_text text{text_.data(), text_.size(), add_special_, parse_special_};
    int32_t rc = mtmd_tokenize(ctx, mp->chunks, &text, ptrs.data(), ptrs.size());
    if (rc == 1) {
      throw NativeError(ErrorKind::Range, "the prompt's media markers (" + std::string(mtmd_default_marker()) + ") do not match the " +
                                              std::to_string(media_.size()) + " media given: give one medium per marker");
    }
    if (rc != 0) {
      std::string why = capture.Text();
      throw NativeError(ErrorKind::InvalidMedia, "the projector could not preprocess the media" + (why.empty() ? "" : ": " + why));
    }
    const size_t n = mtmd_input_chunks_size(mp->chunks);
    for (size_t i = 0; i < n; i++) {
      const mtmd_input_chunk* chunk = mtmd_input_chunks_get(mp->chunks, i);
      MediaPrompt::Span span;
      span.begin = mp->tokens.size();
      span.chunk = chunk;
      if (mtmd_input_chunk_get_type(chunk) == MTMD_INPUT_CHUNK_TYPE_TEXT) {
        size_t nt = 0;
        const llama_token* t = mtmd_input_chunk_get_tokens_text(chunk, &nt);
        mp->tokens.insert(mp->tokens.end(), t, t + nt);
      } else {
        span.media = true;
        const llama_pos n_pos = mtmd_input_chunk_get_n_pos(chunk);
        const size_t n_tok = mtmd_input_chunk_get_n_tokens(chunk);
        if (n_pos < 0 || static_cast<size_t>(n_pos) != n_tok) {
          throw NativeError(ErrorKind::Generic, "this projector places its embeddings at positions llama-native does not support");
        }
        mp->tokens.insert(mp->tokens.end(), n_tok, PseudoToken(mtmd_input_chunk_get_id(chunk)));
        mp->media_tokens += n_tok;
      }
      span.end = mp->tokens.size();
      if (span.media) mp->media_end = span.end;
      if (span.end > span.begin) mp->spans.push_back(span);
    }
    result_ = std::move(mp);
  }

  Napi::Value Result(Napi::Env env) override {
    auto* holder = new MediaPromptPtr(std::move(result_));
    auto ext = Napi::External<MediaPromptPtr>::New(env, holder, [](Napi::Env, MediaPromptPtr* p) { delete p; });
    napi_status st = napi_type_tag_object(env, ext, &kMediaPromptTag);
    NAPI_THROW_IF_FAILED(env, st, Napi::Value());
    const MediaPrompt& mp = **holder;
    Napi::Object o = Napi::Object::New(env);
    auto tokens = Napi::Int32Array::New(env, mp.tokens.size());
    std::copy(mp.tokens.begin(), mp.tokens.end(), tokens.Data());
    o.Set("tokens", tokens);
    o.Set("mediaTokens", static_cast<double>(mp.media_tokens));
    o.Set("mediaEnd", static_cast<double>(mp.media_end));
    o.Set("handle", ext);
    return o;
  }

 private:
  ProjectorHandlePtr p_;
  std::string text_;
  std::vector<MediaInput> media_;
  bool add_special_;
  bool parse_special_;
  MediaPromptPtr result_;
};

}  // namespace

ProjectorHandle::~ProjectorHandle() {
  if (ctx != nullptr) mtmd_free(ctx);
}

MediaPrompt::~MediaPrompt() {
  if (chunks != nullptr) mtmd_input_chunks_free(chunks);
}

size_t MediaPrompt::SnapPrefix(size_t n) const {
  for (const Span& s : spans) {
    if (s.media && s.begin < n && n < s.end) return s.begin;
  }
  return n;
}

MediaPromptPtr MediaPromptFromValue(Napi::Env env, Napi::Value value) {
  if (!value.IsExternal()) return nullptr;
  bool ok = false;
  if (napi_check_object_type_tag(env, value, &kMediaPromptTag, &ok) != napi_ok || !ok) return nullptr;
  return *value.As<Napi::External<MediaPromptPtr>>().Data();
}

Napi::Function Projector::Init(Napi::Env env) {
  Napi::Function f = DefineClass(env, "Projector",
                                 {
                                     Method<&Projector::Info>("info"),
                                     Method<&Projector::Tokenize>("tokenize"),
                                     Method<&Projector::Dispose>("dispose"),
                                     InstanceAccessor<&Projector::GetDisposed>("disposed"),
                                     Static<&Projector::Load>("load"),
                                     StaticValue("marker", Napi::String::New(env, mtmd_default_marker())),
                                 });
  ProjectorCtor(env) = Napi::Persistent(f);
  return f;
}

namespace {
// One constructor per environment (main thread, each worker), kept with the environment's data.
Napi::FunctionReference& ProjectorCtor(Napi::Env env) { return GetAddonData(env)->projector_ctor; }
}  // namespace

Napi::Value Projector::Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !HasTag(env, info[0], kModelTag)) Throw(env, ErrorKind::Type, "model must be a Model");
  ModelHandlePtr model = Model::Unwrap(info[0].As<Napi::Object>())->Handle(env);
  if (model->vocab_only) Throw(env, ErrorKind::Generic, "this model was loaded with vocabOnly: true; a projector needs its weights");
  std::string path = ArgString(info, 1, "path");
  Napi::Object o = ArgObject(info, 2, "options");
  const int32_t hw = static_cast<int32_t>(std::max(1u, std::thread::hardware_concurrency()));
  int32_t threads = static_cast<int32_t>(OptInt(o, "threads", std::min(hw, 4), 1, 512));
  bool use_gpu = OptBool(o, "useGpu", true);
  int64_t max_pixels = OptInt(o, "maxPixels", 64LL << 20, 1, 1LL << 40);
  return ThreadTask::Start(env, new ProjectorLoadTask(std::move(model), std::move(path), threads, use_gpu, max_pixels), Napi::Function());
}

Napi::Object Projector::NewInstance(Napi::Env env, ProjectorHandlePtr handle) {
  auto* holder = new ProjectorHandlePtr(std::move(handle));
  auto ext = Napi::External<ProjectorHandlePtr>::New(env, holder, [](Napi::Env, ProjectorHandlePtr* p) { delete p; });
  return ProjectorCtor(env).New({ext});
}

Projector::Projector(const Napi::CallbackInfo& info) : Wrapped<Projector>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsExternal()) {
    Throw(env, ErrorKind::Type, "Projector cannot be constructed directly; use model.loadProjector()");
  }
  handle_ = std::move(*info[0].As<Napi::External<ProjectorHandlePtr>>().Data());
  TagObject(env, info.This().As<Napi::Object>(), kProjectorTag);
}

ProjectorHandlePtr& Projector::Live(Napi::Env env) {
  if (!handle_) ThrowDisposed(env, "projector");
  return handle_;
}

Napi::Value Projector::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* self = UnwrapTagged<Projector>(info, kProjectorTag, "Projector");
  const ProjectorHandle& h = *self->Live(env);
  Napi::Object o = Napi::Object::New(env);
  o.Set("vision", h.vision);
  o.Set("audio", h.audio);
  o.Set("audioSampleRate", static_cast<double>(h.audio_rate));
  o.Set("maxPixels", static_cast<double>(h.max_pixels));
  return o;
}

Napi::Value Projector::Tokenize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* self = UnwrapTagged<Projector>(info, kProjectorTag, "Projector");
  ProjectorHandlePtr p = self->Live(env);
  std::string text = ArgString(info, 0, "text");
  if (info.Length() < 2 || !info[1].IsArray()) Throw(env, ErrorKind::Type, "media must be an array");
  Napi::Array arr = info[1].As<Napi::Array>();
  std::vector<MediaInput> media;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value item = arr.Get(i);
    const std::string name = "media[" + std::to_string(i) + "]";
    if (!item.IsObject()) Throw(env, ErrorKind::Type, name + " must be an object");
    Napi::Object o = item.As<Napi::Object>();
    Napi::Value data = o.Get("data");
    if (!data.IsTypedArray() || data.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      Throw(env, ErrorKind::Type, name + ".data must be a Uint8Array");
    }
    Napi::Uint8Array bytes = data.As<Napi::Uint8Array>();
    MediaInput m;
    m.audio = o.Get("audio").ToBoolean().Value();
    m.bytes.assign(bytes.Data(), bytes.Data() + bytes.ByteLength());  // copied: the caller may reuse its buffer
    media.push_back(std::move(m));
  }
  bool add_special = info.Length() > 2 && info[2].ToBoolean().Value();
  bool parse_special = info.Length() > 3 && info[3].ToBoolean().Value();
  return ThreadTask::Start(env, new TokenizeTask(std::move(p), std::move(text), std::move(media), add_special, parse_special),
                           Napi::Function());
}

// Contexts whose prompts hold this projector's media keep it alive until those prompts are done.
Napi::Value Projector::Dispose(const Napi::CallbackInfo& info) {
  auto* self = UnwrapTagged<Projector>(info, kProjectorTag, "Projector");
  self->handle_.reset();
  return info.Env().Undefined();
}

Napi::Value Projector::GetDisposed(const Napi::CallbackInfo& info) {
  auto* self = UnwrapTagged<Projector>(info, kProjectorTag, "Projector");
  return Napi::Boolean::New(info.Env(), !self->handle_);
}

}  // namespace llama_native
