// Planted faults for scripts/sanitize.mjs, compiled only into the sanitized build (LLAMA_NATIVE_SANITIZE,
// set by CMakeLists.txt): a run whose sanitizers do not report these would prove nothing about the rest.
//   binding._sanitizerControl("heap-overflow")    reads one byte past a heap block  -> AddressSanitizer
//   binding._sanitizerControl("signed-overflow")  adds 1 to INT_MAX                 -> UBSan
// Not part of the public types; the release build does not have it.
#ifdef LLAMA_NATIVE_SANITIZE

#include <climits>
#include <memory>
#include <string>

#include "addon.h"
#include "common.h"

namespace llama_native {

// volatile: the compiler must not see the values and fold the fault away
static volatile int g_int_max = INT_MAX;
static volatile size_t g_block = 8;

static Napi::Value SanitizerControl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string what = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  if (what == "heap-overflow") {
    const size_t n = g_block;
    std::unique_ptr<char[]> block(new char[n]());
    char* volatile p = block.get();  // escapes: the allocation cannot be elided
    const char past = p[n];  // one byte past the end
    return Napi::Number::New(env, past);
  }
  if (what == "signed-overflow") {
    const int a = g_int_max;
    const int sum = a + 1;
    return Napi::Number::New(env, sum);
  }
  Throw(env, ErrorKind::Type, "_sanitizerControl takes 'heap-overflow' or 'signed-overflow'");
}

void SanitizerControlInit(Napi::Env env, Napi::Object exports) {
  exports.Set("_sanitizerControl", Napi::Function::New(env, GuardedFn<SanitizerControl>, "_sanitizerControl"));
}

}  // namespace llama_native

#endif
