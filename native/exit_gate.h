// The process-exit gate.
//
// process.exit() on the main thread does not tear the environment down: Node stops its own threads,
// then calls exit(), which runs the C++ static destructors of every loaded library, ours included
// (ggml's tables of CPU buffer types, llama.cpp's name maps). A thread of ours still inside
// llama_decode at that moment reads freed memory and the process dies with SIGSEGV instead of the
// exit code it was given. The same happens when the main thread ends with an uncaught exception.
//
// So every thread that runs llama.cpp work (a ThreadTask, a context's engine) does it inside a
// Scope, and src/binding.ts calls Close() from the main thread's 'exit' event: from then on no
// Scope opens (the work ends as aborted without calling llama.cpp), decodes and loads in flight see
// their abort callback fire, and Close() waits until every open Scope has closed.
#pragma once

namespace llama_native::exit_gate {

// Whether Close() has been called. Cheap; read from llama.cpp's abort and progress callbacks.
bool Exiting();

// JS main thread, from process.on('exit'): refuses new work and waits up to `timeout_ms` for work
// in flight to leave llama.cpp. Returns the number of scopes still open when it gave up (0: all
// left). Work that llama.cpp cannot abort (quantization) may outlast the wait.
int Close(int timeout_ms);

class Scope {
 public:
  Scope();  // counts this thread as running llama.cpp work, unless the process is exiting
  ~Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;
  explicit operator bool() const { return open_; }  // false: the process is exiting; do no work

 private:
  bool open_;
};

}  // namespace llama_native::exit_gate
