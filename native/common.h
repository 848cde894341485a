// Shared helpers of the native shim: typed errors, type tags, argument conversion.
#pragma once

#include <napi.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "llama.h"

namespace llama_native {

// Error kinds cross the boundary as a `code` property; src/errors.ts maps them onto the exported
// LlamaError subclasses. Keep the two lists in step.
enum class ErrorKind {
  Generic,       // LlamaError            ERR_LLAMA
  InvalidFile,   // InvalidModelFileError ERR_LLAMA_INVALID_MODEL_FILE
  Load,          // ModelLoadError        ERR_LLAMA_LOAD
  ContextFull,   // ContextFullError      ERR_LLAMA_CONTEXT_FULL
  Disposed,      // DisposedError         ERR_LLAMA_DISPOSED
  Aborted,       // AbortError            ERR_LLAMA_ABORTED
  Range,         // RangeError            ERR_LLAMA_RANGE
  Type,          // TypeError             ERR_LLAMA_TYPE
};

const char* ErrorCode(ErrorKind kind);

// Thrown by code that runs off the JS thread; turned into a JS error on the JS thread.
struct NativeError : std::runtime_error {
  NativeError(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind(kind) {}
  ErrorKind kind;
};

// A JS error object of the right class with `code` set.
Napi::Error MakeError(Napi::Env env, ErrorKind kind, const std::string& message);
[[noreturn]] void Throw(Napi::Env env, ErrorKind kind, const std::string& message);

// Type tags: every wrapped object is tagged at construction and checked on unwrap, so that
// `Context.prototype.generate.call({})` throws a TypeError instead of reading a foreign pointer.
extern const napi_type_tag kModelTag;
extern const napi_type_tag kContextTag;
extern const napi_type_tag kAbortFlagTag;

void TagObject(Napi::Env env, Napi::Object obj, const napi_type_tag& tag);
bool HasTag(Napi::Env env, Napi::Value value, const napi_type_tag& tag);

template <typename T>
T* UnwrapTagged(const Napi::CallbackInfo& info, const napi_type_tag& tag, const char* className) {
  Napi::Env env = info.Env();
  if (!HasTag(env, info.This(), tag)) {
    Throw(env, ErrorKind::Type, std::string("receiver is not a ") + className);
  }
  return T::Unwrap(info.This().As<Napi::Object>());
}

// Argument readers that throw TypeError/RangeError naming the argument.
Napi::Object ArgObject(const Napi::CallbackInfo& info, size_t i, const char* name);
std::string ArgString(const Napi::CallbackInfo& info, size_t i, const char* name);
bool OptBool(Napi::Object obj, const char* key, bool fallback);
double OptNumber(Napi::Object obj, const char* key, double fallback);
int64_t OptInt(Napi::Object obj, const char* key, int64_t fallback, int64_t min, int64_t max);
std::string OptString(Napi::Object obj, const char* key, const std::string& fallback);

// Reads an Int32Array (or array of integers) of token ids and checks each is in [0, n_vocab).
std::vector<llama_token> ArgTokens(Napi::Env env, Napi::Value value, const char* name, int32_t n_vocab);

// Length of the longest prefix of `s` that ends on a complete UTF-8 sequence.
size_t Utf8CompletePrefix(const std::string& s);

// A cancellation flag shared between the JS object that sets it and the work that reads it.
using AbortFlagPtr = std::shared_ptr<std::atomic<bool>>;

}  // namespace llama_native
