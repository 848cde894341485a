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

// What went wrong, as the code of the error JS receives. src/errors.ts registers a factory with the
// addon when it loads (binding.setErrorFactory) that makes each code an instance of the exported
// class; until then, or if it fails, a plain Error with `code` set. Argument errors stay TypeError
// and RangeError.
enum class ErrorKind {
  Generic,  // LlamaError            ERR_LLAMA
  Load,  // ModelLoadError        ERR_LLAMA_LOAD
  ContextFull,  // ContextFullError      ERR_LLAMA_CONTEXT_FULL
  Disposed,  // DisposedError         ERR_LLAMA_DISPOSED
  Aborted,  // AbortError            ERR_LLAMA_ABORTED
  Range,  // RangeError            ERR_LLAMA_RANGE
  Type,  // TypeError             ERR_LLAMA_TYPE
  InvalidState,  // InvalidStateError     ERR_LLAMA_INVALID_STATE
  Rpc,  // RpcError              ERR_LLAMA_RPC
  InvalidMedia,  // InvalidMediaError     ERR_LLAMA_INVALID_MEDIA
};

const char* ErrorCode(ErrorKind kind);

// Thrown by code that runs off the JS thread; turned into a JS error on the JS thread.
struct NativeError : std::runtime_error {
  NativeError(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind(kind) {}
  ErrorKind kind;
};

// A JS error object of the right class with `code` set. For ErrorKind::Disposed, `message` names the
// object ("context"); the error reads "the context has been disposed".
Napi::Error MakeError(Napi::Env env, ErrorKind kind, const std::string& message);
[[noreturn]] void Throw(Napi::Env env, ErrorKind kind, const std::string& message);
[[noreturn]] inline void ThrowDisposed(Napi::Env env, const char* what) { Throw(env, ErrorKind::Disposed, what); }

// Runs the body of a JS-callable function so that no C++ exception leaves it untyped: a NativeError
// becomes its kind's error, anything else (llama.cpp throws std::out_of_range, std::runtime_error
// through its C API) a LlamaError quoting it. Every method and function the addon registers goes
// through it (GuardedFn, Wrapped::Method), so no call site can forget.
template <typename Body>
Napi::Value Guarded(Napi::Env env, Body&& body) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (const NativeError& e) {
    throw MakeError(env, e.kind, e.what());
  } catch (const std::exception& e) {
    throw MakeError(env, ErrorKind::Generic, std::string("llama.cpp raised an exception: ") + e.what());
  } catch (...) {
    throw MakeError(env, ErrorKind::Generic, "llama.cpp raised an unknown exception");
  }
}

template <Napi::Value (*F)(const Napi::CallbackInfo&)>
Napi::Value GuardedFn(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] { return F(info); });
}

// ObjectWrap whose methods are registered through Method<>/Static<>, i.e. Guarded.
template <typename T>
class Wrapped : public Napi::ObjectWrap<T> {
 public:
  using Napi::ObjectWrap<T>::ObjectWrap;

 protected:
  using MethodPtr = Napi::Value (T::*)(const Napi::CallbackInfo&);

  template <MethodPtr M>
  static Napi::ClassPropertyDescriptor<T> Method(const char* name) {
    return Napi::ObjectWrap<T>::InstanceMethod(name, static_cast<MethodPtr>(&Wrapped::template Call<M>));
  }
  template <Napi::Value (*F)(const Napi::CallbackInfo&)>
  static Napi::ClassPropertyDescriptor<T> Static(const char* name) {
    return Napi::ObjectWrap<T>::StaticMethod(name, &GuardedFn<F>);
  }

 private:
  template <MethodPtr M>
  Napi::Value Call(const Napi::CallbackInfo& info) {
    return Guarded(info.Env(), [&] { return (static_cast<T*>(this)->*M)(info); });
  }
};

// Type tags: every wrapped object is tagged at construction and checked on unwrap, so that
// `Context.prototype.generate.call({})` throws a TypeError instead of reading a foreign pointer.
extern const napi_type_tag kModelTag;
extern const napi_type_tag kContextTag;
extern const napi_type_tag kAbortFlagTag;
extern const napi_type_tag kChatTemplatesTag;
extern const napi_type_tag kChatParserTag;

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
