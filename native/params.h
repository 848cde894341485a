// The options objects that cross from TypeScript, declared once per native entry point.
//
// src/native-params.ts declares the same tables. TypeScript validates every key against them, fills
// every default and sends complete objects; native code reads them only through Params, which
// refuses undeclared and missing keys, re-checks each declared range (they keep values away from
// llama.cpp's asserts) and, in Done(), that the entry point read every key it declares. The tables
// are exported as binding.paramTables(), and test/unit/native-params.test.ts proves that both sides
// declare the same keys, types and ranges.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace llama_native {

enum class ParamType { Bool, Int, Number, String, Strings, Numbers, TokenBias, OneOf };

struct ParamSpec {
  const char* name;
  ParamType type;
  double min = 0;  // Int, Number, Numbers (each element): inclusive range
  double max = 0;
  const char* choices = nullptr;  // OneOf: "a|b|c"
};

struct ParamTable {
  const char* entry;  // the native entry point, e.g. "Context.create"
  std::vector<ParamSpec> params;
};

extern const ParamTable kModelLoadParams;
extern const ParamTable kContextCreateParams;
extern const ParamTable kGenerateParams;
extern const ParamTable kQuantizeParams;

// Every table, for binding.paramTables().
const std::vector<const ParamTable*>& AllParamTables();
Napi::Value ParamTablesToJs(const Napi::CallbackInfo& info);

// Reads one complete options object against its table. A key TypeScript should not have sent, a
// missing key or a value of the wrong type is a TypeError naming the entry point (a bug between the
// two layers, or a caller of the raw binding); a value outside the declared range is a RangeError.
class Params {
 public:
  Params(Napi::Env env, Napi::Value value, const ParamTable& table);

  bool Bool(const char* name);
  int64_t Int(const char* name);
  double Number(const char* name);
  std::string String(const char* name);
  std::vector<std::string> Strings(const char* name);
  std::vector<double> Numbers(const char* name);  // each element in the declared range
  std::vector<std::pair<int64_t, double>> TokenBias(const char* name);  // [token, bias] pairs, tokens >= 0
  std::string OneOf(const char* name);

  // Throws when a declared key was never read: the table and the reading code disagree.
  void Done();

 private:
  size_t Find(const char* name, ParamType type);  // index in the table; throws for an undeclared name
  Napi::Value Get(size_t i);

  Napi::Env env_;
  Napi::Object obj_;
  const ParamTable& table_;
  std::vector<bool> read_;
};

}  // namespace llama_native
