#include "quantize.h"

#include <string>
#include <utility>

#include "common.h"
#include "log.h"
#include "task.h"

namespace llama_native {

namespace {

// The target types that need no importance matrix (the IQ types do; llama.cpp refuses them without).
struct FtypeName {
  const char* name;
  llama_ftype ftype;
};
constexpr FtypeName kFtypes[] = {
    {"F16", LLAMA_FTYPE_MOSTLY_F16},       {"BF16", LLAMA_FTYPE_MOSTLY_BF16},     {"Q8_0", LLAMA_FTYPE_MOSTLY_Q8_0},
    {"Q6_K", LLAMA_FTYPE_MOSTLY_Q6_K},     {"Q5_0", LLAMA_FTYPE_MOSTLY_Q5_0},     {"Q5_1", LLAMA_FTYPE_MOSTLY_Q5_1},
    {"Q5_K_S", LLAMA_FTYPE_MOSTLY_Q5_K_S}, {"Q5_K_M", LLAMA_FTYPE_MOSTLY_Q5_K_M}, {"Q4_0", LLAMA_FTYPE_MOSTLY_Q4_0},
    {"Q4_1", LLAMA_FTYPE_MOSTLY_Q4_1},     {"Q4_K_S", LLAMA_FTYPE_MOSTLY_Q4_K_S}, {"Q4_K_M", LLAMA_FTYPE_MOSTLY_Q4_K_M},
    {"Q3_K_S", LLAMA_FTYPE_MOSTLY_Q3_K_S}, {"Q3_K_M", LLAMA_FTYPE_MOSTLY_Q3_K_M}, {"Q3_K_L", LLAMA_FTYPE_MOSTLY_Q3_K_L},
    {"Q2_K", LLAMA_FTYPE_MOSTLY_Q2_K},
};

class QuantizeTask : public ThreadTask {
 public:
  QuantizeTask(std::string in, std::string out, llama_model_quantize_params p)
      : ThreadTask(nullptr), in_(std::move(in)), out_(std::move(out)), params_(p) {}

 protected:
  void Execute() override {
    LogCapture capture;
    uint32_t rc = llama_model_quantize(in_.c_str(), out_.c_str(), &params_);
    if (rc != 0) {
      std::string why = capture.Text();
      throw NativeError(ErrorKind::Generic, "quantization failed" + (why.empty() ? std::string() : ": " + why));
    }
  }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  std::string in_, out_;
  llama_model_quantize_params params_;
};

}  // namespace

Napi::Value Quantize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string in = ArgString(info, 0, "input");
  std::string out = ArgString(info, 1, "output");
  if (in == out) Throw(env, ErrorKind::Range, "output must differ from input");
  Napi::Object o = ArgObject(info, 2, "options");
  std::string type = OptString(o, "type", "");
  llama_model_quantize_params p = llama_model_quantize_default_params();
  bool found = false;
  std::string names;
  for (const auto& f : kFtypes) {
    names += names.empty() ? f.name : std::string(", ") + f.name;
    if (type == f.name) {
      p.ftype = f.ftype;
      found = true;
    }
  }
  if (!found) Throw(env, ErrorKind::Range, "type must be one of " + names + "; got '" + type + "'");
  p.nthread = static_cast<int32_t>(OptInt(o, "threads", 0, 0, 1024));
  p.pure = OptBool(o, "pure", false);
  p.allow_requantize = OptBool(o, "allowRequantize", false);
  return ThreadTask::Start(env, new QuantizeTask(std::move(in), std::move(out), p), Napi::Function());
}

}  // namespace llama_native
