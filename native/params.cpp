#include "params.h"

#include <cmath>
#include <cstring>

#include "common.h"

namespace llama_native {

namespace {

constexpr double kI32Max = 2147483647.0;
constexpr double kCells = 16777216.0;  // 2^24: context, batch and penalty windows

ParamSpec Bool(const char* n) { return {n, ParamType::Bool}; }
ParamSpec Int(const char* n, double lo, double hi) { return {n, ParamType::Int, lo, hi}; }
ParamSpec Num(const char* n, double lo, double hi) { return {n, ParamType::Number, lo, hi}; }
ParamSpec Str(const char* n) { return {n, ParamType::String}; }
ParamSpec OneOf(const char* n, const char* choices) { return {n, ParamType::OneOf, 0, 0, choices}; }

const char* TypeName(ParamType t) {
  switch (t) {
    case ParamType::Bool: return "bool";
    case ParamType::Int: return "int";
    case ParamType::Number: return "number";
    case ParamType::String: return "string";
    case ParamType::Strings: return "strings";
    case ParamType::Numbers: return "numbers";
    case ParamType::TokenBias: return "tokenBias";
    case ParamType::OneOf: return "oneOf";
  }
  return "?";
}

std::string Shown(double d) {
  if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 1e15) return std::to_string(static_cast<long long>(d));
  std::string s = std::to_string(d);
  return s;
}

}  // namespace

const ParamTable kModelLoadParams{"Model.load",
                                  {
                                      Int("gpuLayers", -1, kI32Max),
                                      OneOf("loadMode", "auto|mmap|none"),
                                      Bool("vocabOnly"),
                                      Bool("checkTensors"),
                                      // ggml RPC workers (host:port) whose devices join the local ones, and
                                      // the share of layers per device (llama.cpp's --rpc and --tensor-split)
                                      {"rpcServers", ParamType::Strings},
                                      {"tensorSplit", ParamType::Numbers, 0, 1e9},
                                  }};

const ParamTable kContextCreateParams{"Context.create",
                                      {
                                          Int("contextSize", 1, kCells),
                                          Int("batchSize", 1, kCells),
                                          Int("ubatchSize", 1, kCells),
                                          Int("sequences", 1, 256),  // LLAMA_MAX_SEQ
                                          Int("threads", 1, 1024),
                                          Int("batchThreads", 1, 1024),
                                          Int("threadPoll", 0, 100),
                                          Bool("adaptiveThreads"),
                                          Bool("embeddings"),
                                          OneOf("pooling", "default|none|mean|cls|last|rank"),
                                          Bool("unifiedKvCache"),
                                          Bool("contextShift"),
                                          Int("contextShiftKeep", -1, kCells),
                                          OneOf("speculative", "none|draft|ngram"),
                                          Int("draftMax", 1, 1024),
                                          Int("draftMin", 0, 1024),
                                          Num("draftPMin", 0, 1),
                                          Int("ngramSizeN", 1, 1024),
                                          Int("ngramSizeM", 1, 1024),
                                      }};

const ParamTable kGenerateParams{"Context.generate",
                                 {
                                     Int("sequence", -1, 255),
                                     Int("maxTokens", -1, kI32Max),
                                     {"stop", ParamType::Strings},
                                     Num("temperature", 0, 1e6),
                                     Int("topK", 0, kI32Max),
                                     Num("topP", 0, 1),
                                     Num("minP", 0, 1),
                                     Num("typicalP", 0, 1),
                                     Int("minKeep", 0, kI32Max),
                                     Num("topNSigma", -1, 1e6),
                                     Num("xtcProbability", 0, 1),
                                     Num("xtcThreshold", 0, 1),
                                     Num("repeatPenalty", 1e-6, 1e6),
                                     Num("frequencyPenalty", -1e6, 1e6),
                                     Num("presencePenalty", -1e6, 1e6),
                                     Int("penaltyLastN", 0, kCells),
                                     Num("dryMultiplier", 0, 1e6),
                                     Num("dryBase", 1, 1e6),
                                     Int("dryAllowedLength", 0, kI32Max),
                                     Int("dryPenaltyLastN", 0, kCells),
                                     {"dryBreakers", ParamType::Strings},
                                     Int("mirostat", 0, 2),
                                     Num("mirostatTau", 0, 1e6),
                                     Num("mirostatEta", 0, 1e6),
                                     Int("seed", 0, 4294967295.0),
                                     Str("grammar"),
                                     Bool("outputFormat"),
                                     Int("topLogprobs", -1, kI32Max),
                                     {"logitBias", ParamType::TokenBias},
                                     Str("chatSampling"),
                                 }};

const ParamTable kQuantizeParams{
    "quantize",
    {
        OneOf("type", "F16|BF16|Q8_0|Q6_K|Q5_0|Q5_1|Q5_K_S|Q5_K_M|Q4_0|Q4_1|Q4_K_S|Q4_K_M|Q3_K_S|Q3_K_M|Q3_K_L|Q2_K"),
        Int("threads", 0, 1024),
        Bool("pure"),
        Bool("allowRequantize"),
    }};

const std::vector<const ParamTable*>& AllParamTables() {
  static const std::vector<const ParamTable*> all{&kModelLoadParams, &kContextCreateParams, &kGenerateParams, &kQuantizeParams};
  return all;
}

Napi::Value ParamTablesToJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  for (const ParamTable* t : AllParamTables()) {
    Napi::Object entry = Napi::Object::New(env);
    for (const ParamSpec& p : t->params) {
      Napi::Object spec = Napi::Object::New(env);
      spec.Set("type", TypeName(p.type));
      if (p.type == ParamType::Int || p.type == ParamType::Number || p.type == ParamType::Numbers) {
        spec.Set("min", p.min);
        spec.Set("max", p.max);
      }
      if (p.type == ParamType::OneOf) {
        Napi::Array choices = Napi::Array::New(env);
        std::string all = p.choices;
        uint32_t i = 0;
        for (size_t from = 0; from <= all.size();) {
          size_t bar = all.find('|', from);
          if (bar == std::string::npos) bar = all.size();
          choices.Set(i++, all.substr(from, bar - from));
          from = bar + 1;
        }
        spec.Set("choices", choices);
      }
      entry.Set(p.name, spec);
    }
    out.Set(t->entry, entry);
  }
  return out;
}

Params::Params(Napi::Env env, Napi::Value value, const ParamTable& table) : env_(env), table_(table), read_(table.params.size(), false) {
  const std::string where = std::string(table.entry) + " params";
  if (!value.IsObject() || value.IsArray() || value.IsFunction()) Throw(env, ErrorKind::Type, where + " must be an object");
  obj_ = value.As<Napi::Object>();
  Napi::Array keys = obj_.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); i++) {
    std::string key = keys.Get(i).ToString().Utf8Value();
    bool known = false;
    for (const ParamSpec& p : table.params) known = known || key == p.name;
    if (!known) Throw(env, ErrorKind::Type, where + ": unknown key '" + key + "'");
  }
  for (const ParamSpec& p : table.params) {
    if (!obj_.HasOwnProperty(p.name)) Throw(env, ErrorKind::Type, where + ": missing key '" + std::string(p.name) + "'");
  }
}

size_t Params::Find(const char* name, ParamType type) {
  for (size_t i = 0; i < table_.params.size(); i++) {
    const ParamSpec& p = table_.params[i];
    if (std::strcmp(p.name, name) != 0) continue;
    if (p.type != type) {
      Throw(env_, ErrorKind::Generic,
            std::string("internal: ") + table_.entry + " reads '" + name + "' as " + TypeName(type) + " but declares " + TypeName(p.type));
    }
    read_[i] = true;
    return i;
  }
  Throw(env_, ErrorKind::Generic, std::string("internal: ") + table_.entry + " reads undeclared key '" + name + "'");
}

Napi::Value Params::Get(size_t i) { return obj_.Get(table_.params[i].name); }

bool Params::Bool(const char* name) {
  size_t i = Find(name, ParamType::Bool);
  Napi::Value v = Get(i);
  if (!v.IsBoolean()) Throw(env_, ErrorKind::Type, std::string(name) + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

static double CheckedNumber(Napi::Env env, Napi::Value v, const ParamSpec& p, bool integer) {
  if (!v.IsNumber()) Throw(env, ErrorKind::Type, std::string(p.name) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  // The range check comes first: converting NaN or a huge value to an integer is undefined behaviour.
  if (!(d >= p.min && d <= p.max) || (integer && std::floor(d) != d)) {
    Throw(env, ErrorKind::Range,
          std::string(p.name) + " must be " + (integer ? "an integer" : "a number") + " in [" + Shown(p.min) + ", " + Shown(p.max) +
              "]; got " + (std::isnan(d) ? "NaN" : Shown(d)));
  }
  return d;
}

int64_t Params::Int(const char* name) {
  size_t i = Find(name, ParamType::Int);
  return static_cast<int64_t>(CheckedNumber(env_, Get(i), table_.params[i], true));
}

double Params::Number(const char* name) {
  size_t i = Find(name, ParamType::Number);
  return CheckedNumber(env_, Get(i), table_.params[i], false);
}

std::string Params::String(const char* name) {
  size_t i = Find(name, ParamType::String);
  Napi::Value v = Get(i);
  if (!v.IsString()) Throw(env_, ErrorKind::Type, std::string(name) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

std::vector<std::string> Params::Strings(const char* name) {
  size_t i = Find(name, ParamType::Strings);
  Napi::Value v = Get(i);
  if (!v.IsArray()) Throw(env_, ErrorKind::Type, std::string(name) + " must be an array of strings");
  auto arr = v.As<Napi::Array>();
  std::vector<std::string> out;
  out.reserve(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); k++) {
    Napi::Value s = arr.Get(k);
    if (!s.IsString()) Throw(env_, ErrorKind::Type, std::string(name) + " must be an array of strings");
    out.push_back(s.As<Napi::String>().Utf8Value());
  }
  return out;
}

std::vector<double> Params::Numbers(const char* name) {
  size_t i = Find(name, ParamType::Numbers);
  Napi::Value v = Get(i);
  if (!v.IsArray()) Throw(env_, ErrorKind::Type, std::string(name) + " must be an array of numbers");
  auto arr = v.As<Napi::Array>();
  std::vector<double> out;
  out.reserve(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); k++) {
    Napi::Value e = arr.Get(k);
    if (!e.IsNumber()) Throw(env_, ErrorKind::Type, std::string(name) + " must be an array of numbers");
    out.push_back(CheckedNumber(env_, e, table_.params[i], false));
  }
  return out;
}

std::vector<std::pair<int64_t, double>> Params::TokenBias(const char* name) {
  size_t i = Find(name, ParamType::TokenBias);
  Napi::Value v = Get(i);
  const std::string what = std::string(name) + " must be an array of [token, bias] pairs";
  if (!v.IsArray()) Throw(env_, ErrorKind::Type, what);
  auto arr = v.As<Napi::Array>();
  std::vector<std::pair<int64_t, double>> out;
  out.reserve(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); k++) {
    Napi::Value pair = arr.Get(k);
    if (!pair.IsArray() || pair.As<Napi::Array>().Length() != 2) Throw(env_, ErrorKind::Type, what);
    auto pa = pair.As<Napi::Array>();
    Napi::Value tv = pa.Get(uint32_t(0));
    Napi::Value bv = pa.Get(uint32_t(1));
    if (!tv.IsNumber() || !bv.IsNumber()) Throw(env_, ErrorKind::Type, what);
    double t = tv.As<Napi::Number>().DoubleValue();
    double b = bv.As<Napi::Number>().DoubleValue();
    if (!(t >= 0 && t <= kI32Max) || std::floor(t) != t) {
      Throw(env_, ErrorKind::Range, std::string(name) + ": token id " + Shown(t) + " is not a non-negative integer");
    }
    if (std::isnan(b)) Throw(env_, ErrorKind::Range, std::string(name) + ": bias must not be NaN");
    out.emplace_back(static_cast<int64_t>(t), b);
  }
  return out;
}

std::string Params::OneOf(const char* name) {
  size_t i = Find(name, ParamType::OneOf);
  Napi::Value v = Get(i);
  const ParamSpec& p = table_.params[i];
  if (!v.IsString()) Throw(env_, ErrorKind::Type, std::string(name) + " must be a string");
  std::string s = v.As<Napi::String>().Utf8Value();
  std::string all = p.choices;
  for (size_t from = 0; from <= all.size();) {
    size_t bar = all.find('|', from);
    if (bar == std::string::npos) bar = all.size();
    if (all.compare(from, bar - from, s) == 0 && bar - from == s.size()) return s;
    from = bar + 1;
  }
  Throw(env_, ErrorKind::Range, std::string(name) + " must be one of " + all + "; got '" + s + "'");
}

void Params::Done() {
  for (size_t i = 0; i < read_.size(); i++) {
    if (!read_[i]) {
      Throw(env_, ErrorKind::Generic,
            std::string("internal: ") + table_.entry + " declares '" + table_.params[i].name + "' but never reads it");
    }
  }
}

}  // namespace llama_native
