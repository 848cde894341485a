#include "common.h"

#include <cmath>
#include <limits>

#include "addon.h"

namespace llama_native {

// Random 128-bit tags; they only need to differ from each other and from other addons' tags.
const napi_type_tag kModelTag = {0x6c6c616d615f6e61ULL, 0x4d6f64656c000001ULL};
const napi_type_tag kContextTag = {0x6c6c616d615f6e61ULL, 0x436f6e7465780002ULL};
const napi_type_tag kAbortFlagTag = {0x6c6c616d615f6e61ULL, 0x41626f7274000003ULL};
const napi_type_tag kChatTemplatesTag = {0x6c6c616d615f6e61ULL, 0x4368617454000004ULL};
const napi_type_tag kChatParserTag = {0x6c6c616d615f6e61ULL, 0x4368617450000005ULL};

const char* ErrorCode(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Load: return "ERR_LLAMA_LOAD";
    case ErrorKind::ContextFull: return "ERR_LLAMA_CONTEXT_FULL";
    case ErrorKind::Disposed: return "ERR_LLAMA_DISPOSED";
    case ErrorKind::Aborted: return "ERR_LLAMA_ABORTED";
    case ErrorKind::Range: return "ERR_LLAMA_RANGE";
    case ErrorKind::Type: return "ERR_LLAMA_TYPE";
    case ErrorKind::InvalidState: return "ERR_LLAMA_INVALID_STATE";
    case ErrorKind::Rpc: return "ERR_LLAMA_RPC";
    case ErrorKind::InvalidMedia: return "ERR_LLAMA_INVALID_MEDIA";
    case ErrorKind::Generic: break;
  }
  return "ERR_LLAMA";
}

Napi::Error MakeError(Napi::Env env, ErrorKind kind, const std::string& message) {
  if (kind != ErrorKind::Range && kind != ErrorKind::Type) {
    AddonData* data = GetAddonData(env);
    if (data != nullptr && !data->error_factory.IsEmpty()) {
      try {
        Napi::Value made = data->error_factory.Call({Napi::String::New(env, ErrorCode(kind)), Napi::String::New(env, message)});
        if (made.IsObject()) return Napi::Error(env, made);
      } catch (const Napi::Error&) {
        // a factory that throws falls back to the plain error below
      }
    }
  }
  Napi::Error err;
  if (kind == ErrorKind::Range) {
    err = Napi::RangeError::New(env, message);
  } else if (kind == ErrorKind::Type) {
    err = Napi::TypeError::New(env, message);
  } else if (kind == ErrorKind::Disposed) {
    err = Napi::Error::New(env, "the " + message + " has been disposed");
  } else {
    err = Napi::Error::New(env, message);
  }
  err.Set("code", Napi::String::New(env, ErrorCode(kind)));
  return err;
}

void Throw(Napi::Env env, ErrorKind kind, const std::string& message) { throw MakeError(env, kind, message); }

void TagObject(Napi::Env env, Napi::Object obj, const napi_type_tag& tag) {
  napi_status status = napi_type_tag_object(env, obj, &tag);
  NAPI_THROW_IF_FAILED_VOID(env, status);
}

bool HasTag(Napi::Env env, Napi::Value value, const napi_type_tag& tag) {
  if (!value.IsObject()) return false;
  bool result = false;
  napi_status status = napi_check_object_type_tag(env, value, &tag, &result);
  return status == napi_ok && result;
}

Napi::Object ArgObject(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (i >= info.Length() || info[i].IsUndefined()) return Napi::Object::New(info.Env());
  if (!info[i].IsObject()) Throw(info.Env(), ErrorKind::Type, std::string(name) + " must be an object");
  return info[i].As<Napi::Object>();
}

std::string ArgString(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (i >= info.Length() || !info[i].IsString()) {
    Throw(info.Env(), ErrorKind::Type, std::string(name) + " must be a string");
  }
  return info[i].As<Napi::String>().Utf8Value();
}

bool OptBool(Napi::Object obj, const char* key, bool fallback) {
  Napi::Value v = obj.Get(key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsBoolean()) Throw(obj.Env(), ErrorKind::Type, std::string(key) + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

double OptNumber(Napi::Object obj, const char* key, double fallback) {
  Napi::Value v = obj.Get(key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsNumber()) Throw(obj.Env(), ErrorKind::Type, std::string(key) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d)) Throw(obj.Env(), ErrorKind::Range, std::string(key) + " must be a finite number");
  return d;
}

int64_t OptInt(Napi::Object obj, const char* key, int64_t fallback, int64_t min, int64_t max) {
  Napi::Value v = obj.Get(key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsNumber()) Throw(obj.Env(), ErrorKind::Type, std::string(key) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || std::floor(d) != d || d < static_cast<double>(min) || d > static_cast<double>(max)) {
    Throw(obj.Env(), ErrorKind::Range,
          std::string(key) + " must be an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return static_cast<int64_t>(d);
}

std::string OptString(Napi::Object obj, const char* key, const std::string& fallback) {
  Napi::Value v = obj.Get(key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsString()) Throw(obj.Env(), ErrorKind::Type, std::string(key) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

static std::string TokenRangeMessage(const char* name, double value, int32_t n_vocab) {
  std::string shown = std::isfinite(value) ? std::to_string(value) : (std::isnan(value) ? "NaN" : "Infinity");
  if (std::isfinite(value) && std::floor(value) == value && std::fabs(value) < 1e15) {
    shown = std::to_string(static_cast<long long>(value));
  }
  return std::string(name) + ": token id " + shown + " is not an integer in [0, " + std::to_string(n_vocab) + ") (the vocabulary has " +
         std::to_string(n_vocab) + " tokens)";
}

std::vector<llama_token> ArgTokens(Napi::Env env, Napi::Value value, const char* name, int32_t n_vocab) {
  std::vector<llama_token> out;
  if (value.IsTypedArray()) {
    auto ta = value.As<Napi::TypedArray>();
    if (ta.TypedArrayType() != napi_int32_array && ta.TypedArrayType() != napi_uint32_array) {
      Throw(env, ErrorKind::Type, std::string(name) + " must be an Int32Array or an array of token ids");
    }
    size_t n = ta.ElementLength();
    out.resize(n);
    if (ta.TypedArrayType() == napi_int32_array) {
      auto arr = value.As<Napi::Int32Array>();
      for (size_t i = 0; i < n; i++) out[i] = arr[i];
    } else {
      auto arr = value.As<Napi::Uint32Array>();
      for (size_t i = 0; i < n; i++) {
        if (arr[i] > static_cast<uint32_t>(std::numeric_limits<int32_t>::max())) {
          Throw(env, ErrorKind::Range, TokenRangeMessage(name, static_cast<double>(arr[i]), n_vocab));
        }
        out[i] = static_cast<llama_token>(arr[i]);
      }
    }
    for (llama_token t : out) {
      if (t < 0 || t >= n_vocab) Throw(env, ErrorKind::Range, TokenRangeMessage(name, t, n_vocab));
    }
    return out;
  }
  if (value.IsArray()) {
    auto arr = value.As<Napi::Array>();
    uint32_t n = arr.Length();
    out.reserve(n);
    for (uint32_t i = 0; i < n; i++) {
      Napi::Value v = arr.Get(i);
      if (!v.IsNumber()) Throw(env, ErrorKind::Type, std::string(name) + " must contain only numbers");
      double d = v.As<Napi::Number>().DoubleValue();
      if (!(std::floor(d) == d) || d < 0 || d >= n_vocab) Throw(env, ErrorKind::Range, TokenRangeMessage(name, d, n_vocab));
      out.push_back(static_cast<llama_token>(d));
    }
    return out;
  }
  Throw(env, ErrorKind::Type, std::string(name) + " must be an Int32Array or an array of token ids");
}

size_t Utf8CompletePrefix(const std::string& s) {
  const size_t n = s.size();
  // Walk back over at most 3 continuation bytes to the last lead byte.
  for (size_t back = 1; back <= 4 && back <= n; back++) {
    unsigned char c = static_cast<unsigned char>(s[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte
    size_t need = 1;
    if ((c & 0xE0) == 0xC0)
      need = 2;
    else if ((c & 0xF0) == 0xE0)
      need = 3;
    else if ((c & 0xF8) == 0xF0)
      need = 4;
    return back < need ? n - back : n;
  }
  return n;  // only continuation bytes: invalid, nothing to wait for
}

}  // namespace llama_native
