#include "quantize.h"

#include <string>
#include <utility>

#include "common.h"
#include "log.h"
#include "params.h"
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
  Params o(env, info.Length() > 2 ? info[2] : env.Undefined(), kQuantizeParams);
  const std::string type = o.OneOf("type");
  llama_model_quantize_params p = llama_model_quantize_default_params();
  bool found = false;
  for (const auto& f : kFtypes) {
    if (type == f.name) {
      p.ftype = f.ftype;
      found = true;
    }
  }
  if (!found) Throw(env, ErrorKind::Generic, "internal: quantize type '" + type + "' is declared but has no llama.cpp ftype");
  p.nthread = static_cast<int32_t>(o.Int("threads"));
  p.pure = o.Bool("pure");
  p.allow_requantize = o.Bool("allowRequantize");
  o.Done();
  return ThreadTask::Start(env, new QuantizeTask(std::move(in), std::move(out), p), Napi::Function());
}

}  // namespace llama_native
