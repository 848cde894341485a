// llama.cpp / ggml log routing. llama_log_set is process-wide, so the level is too; each
// environment (main thread or worker) may register one JS listener. Quiet by default: errors only.
#pragma once

#include <napi.h>

#include <string>

namespace llama_native {

void LogInstall();
Napi::Value SetLogLevel(const Napi::CallbackInfo& info);  // (level: 0 none .. 4 debug... see below)
Napi::Value SetLogger(const Napi::CallbackInfo& info);  // (fn | null)

// Collects the warning and error lines llama.cpp logs on the current thread while it lives, so a
// failed load can say why ("missing tensor 'output.weight'") instead of "failed to load".
void LogCaptureAppend(const char* text);

// llama.cpp reports a decode stopped by its abort callback as three errors ("llama_decode: failed
// to decode, ret = 2"). The caller asked for that stop, so while a QuietAbortScope lives, the errors
// its thread logs after NoteAbortFired() are dropped. Any other error still reaches the log.
void NoteAbortFired();  // from llama.cpp's abort callback, when it returns true

class QuietAbortScope {
 public:
  QuietAbortScope();
  ~QuietAbortScope();
};

class LogCapture {
 public:
  LogCapture();
  ~LogCapture();
  std::string Text() const;

 private:
  std::string text_;
  LogCapture* prev_;
  friend void LogCaptureAppend(const char* text);
};

}  // namespace llama_native
