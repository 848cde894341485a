#include "log.h"

#include <atomic>
#include <cstdio>
#include <mutex>
#include <vector>

#include "common.h"
#include "llama.h"
#include "mtmd-helper.h"

namespace llama_native {

namespace {

// Levels as JS sees them: 0 silent, 1 error, 2 warn, 3 info, 4 debug.
std::atomic<int> g_level{1};

int JsLevel(ggml_log_level level) {
  switch (level) {
    case GGML_LOG_LEVEL_ERROR: return 1;
    case GGML_LOG_LEVEL_WARN: return 2;
    case GGML_LOG_LEVEL_INFO: return 3;
    case GGML_LOG_LEVEL_DEBUG: return 4;
    default: return 3;
  }
}

struct LogLine {
  int level;
  std::string text;
};

void CallJsLog(Napi::Env env, Napi::Function fn, std::nullptr_t*, LogLine* line) {
  std::unique_ptr<LogLine> owned(line);
  if (static_cast<napi_env>(env) == nullptr || fn.IsEmpty()) return;
  try {
    fn.Call({Napi::Number::New(env, line->level), Napi::String::New(env, line->text)});
  } catch (const Napi::Error&) {
    // a throwing listener must not take the process down
  }
}

using LogTsfn = Napi::TypedThreadSafeFunction<std::nullptr_t, LogLine, CallJsLog>;

struct Sink {
  napi_env env;
  LogTsfn tsfn;
};

std::mutex g_mutex;
std::vector<Sink> g_sinks;
thread_local int t_last_level = 3;
thread_local LogCapture* t_capture = nullptr;
thread_local int t_quiet_scopes = 0;
thread_local bool t_abort_fired = false;

void RemoveSink(napi_env env) {
  std::lock_guard<std::mutex> lock(g_mutex);
  for (auto it = g_sinks.begin(); it != g_sinks.end(); ++it) {
    if (it->env == env) {
      it->tsfn.Release();
      g_sinks.erase(it);
      return;
    }
  }
}

void OnEnvCleanup(void* arg) { RemoveSink(static_cast<napi_env>(arg)); }

void LogCallback(ggml_log_level level, const char* text, void*) {
  if (text == nullptr) return;
  int js = level == GGML_LOG_LEVEL_CONT ? t_last_level : JsLevel(level);
  if (level != GGML_LOG_LEVEL_CONT) t_last_level = js;
  if (t_abort_fired && js == 1) return;
  if (js <= 2) LogCaptureAppend(text);
  if (js > g_level.load(std::memory_order_relaxed)) return;
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_sinks.empty()) {
    std::fputs(text, stderr);
    return;
  }
  for (auto& sink : g_sinks) {
    auto* line = new LogLine{js, text};
    if (sink.tsfn.NonBlockingCall(line) != napi_ok) delete line;
  }
}

}  // namespace

void LogCaptureAppend(const char* text) {
  if (t_capture != nullptr && t_capture->text_.size() < 4096) t_capture->text_ += text;
}

void NoteAbortFired() {
  if (t_quiet_scopes > 0) t_abort_fired = true;
}

QuietAbortScope::QuietAbortScope() {
  t_quiet_scopes++;
  t_abort_fired = false;
}

QuietAbortScope::~QuietAbortScope() {
  t_quiet_scopes--;
  t_abort_fired = false;
}

LogCapture::LogCapture() : prev_(t_capture) { t_capture = this; }
LogCapture::~LogCapture() { t_capture = prev_; }

std::string LogCapture::Text() const {
  std::string s = text_;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

void LogInstall() {
  llama_log_set(LogCallback, nullptr);
  mtmd_helper_log_set(LogCallback, nullptr);  // mtmd and clip log through their own setter
}

Napi::Value SetLogLevel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) Throw(env, ErrorKind::Type, "level must be a number");
  int level = info[0].As<Napi::Number>().Int32Value();
  if (level < 0 || level > 4) Throw(env, ErrorKind::Range, "level must be an integer in [0, 4]");
  g_level.store(level);
  return env.Undefined();
}

Napi::Value SetLogger(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RemoveSink(env);
  napi_remove_env_cleanup_hook(env, OnEnvCleanup, static_cast<napi_env>(env));
  if (info.Length() < 1 || info[0].IsNull() || info[0].IsUndefined()) return env.Undefined();
  if (!info[0].IsFunction()) Throw(env, ErrorKind::Type, "logger must be a function or null");
  auto tsfn = LogTsfn::New(env, info[0].As<Napi::Function>(), "llama-native-log", 0, 1);
  tsfn.Unref(env);  // a logger never keeps the process alive
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    g_sinks.push_back(Sink{env, tsfn});
  }
  napi_add_env_cleanup_hook(env, OnEnvCleanup, static_cast<napi_env>(env));
  return env.Undefined();
}

}  // namespace llama_native
