#include "chat_request.h"

#include <chrono>
#include <cmath>
#include <stdexcept>

namespace llama_native::chat {

namespace {

// The checks oaicompat_chat_params_parse makes on `messages` before converting them. Media parts
// (image_url, input_audio, input_video) are refused as llama-server refuses them without an mmproj;
// src/chat/convert.ts turns the API's image and audio parts into "media_marker" parts first, as
// llama-server does with an mmproj (the media go to the generation beside the prompt).
void CheckMessages(const common_json& messages) {
  for (const auto& msg : messages) {
    std::string role = JsonValue(msg, "role", std::string());
    if (role != "assistant" && !msg.contains("content")) {
      throw std::invalid_argument("All non-assistant messages must contain 'content'");
    }
    if (role == "assistant") {
      if (!msg.contains("content") && !msg.contains("tool_calls")) {
        throw std::invalid_argument("Assistant message must contain either 'content' or 'tool_calls'!");
      }
      if (!msg.contains("content")) continue;
    }
    const common_json& content = msg.at("content");
    if (content.is_string() || content.is_null()) continue;
    if (!content.is_array()) throw std::invalid_argument("Expected 'content' to be a string or an array");
    for (const auto& p : content) {
      std::string type = JsonValue(p, "type", std::string());
      if (type == "image_url") {
        throw std::runtime_error("image input is not supported - hint: if this is unexpected, you may need to provide the mmproj");
      } else if (type == "input_audio") {
        throw std::runtime_error("audio input is not supported - hint: if this is unexpected, you may need to provide the mmproj");
      } else if (type == "input_video") {
        throw std::runtime_error("video input is not supported - hint: if this is unexpected, you may need to provide the mmproj");
      } else if (type != "text" && type != "media_marker") {
        throw std::invalid_argument("unsupported content[].type");
      }
    }
  }
}

}  // namespace

ApplyResult ApplyRequest(const common_chat_templates* tmpls, bool supports_thinking, const std::string& request_json) {
  if (tmpls == nullptr) throw std::invalid_argument("no chat templates");
  common_json body = common_json::parse(request_json);
  if (!body.is_object()) throw std::invalid_argument("the request must be a JSON object");

  common_json tools = JsonValue(body, "tools", common_json());
  std::string tool_choice = JsonValue(body, "tool_choice", std::string("auto"));

  common_json json_schema = JsonValue(body, "json_schema", common_json());
  std::string grammar = JsonValue(body, "grammar", std::string());
  if (!json_schema.is_null() && !grammar.empty()) throw std::runtime_error("Cannot use both json_schema and grammar");

  if (body.contains("response_format")) {
    common_json response_format = JsonValue(body, "response_format", common_json::object());
    std::string response_type = JsonValue(response_format, "type", std::string());
    if (response_type == "json_object") {
      if (response_format.contains("schema") || json_schema.empty()) {
        json_schema = JsonValue(response_format, "schema", common_json::object());
      }
    } else if (response_type == "json_schema") {
      common_json schema_wrapper = JsonValue(response_format, "json_schema", common_json::object());
      json_schema = JsonValue(schema_wrapper, "schema", common_json::object());
    } else if (!response_type.empty() && response_type != "text") {
      throw std::invalid_argument("response_format type must be one of \"text\" or \"json_object\", but got: " + response_type);
    }
  }

  if (!body.contains("messages")) throw std::invalid_argument("'messages' is required");
  const common_json& messages = body.at("messages");
  if (!messages.is_array()) throw std::invalid_argument("Expected 'messages' to be an array");
  CheckMessages(messages);

  auto caps = common_chat_templates_get_caps(tmpls);
  const bool prefill_assistant = JsonValue(body, "prefill_assistant", true);

  common_chat_templates_inputs inputs;
  inputs.messages = common_chat_msgs_parse_oaicompat(messages);
  inputs.tools = common_chat_tools_parse_oaicompat(tools);
  inputs.tool_choice = common_chat_tool_choice_parse_oaicompat(tool_choice);
  inputs.json_schema = json_schema.is_null() ? "" : json_schema.dump();
  inputs.grammar = grammar;
  inputs.use_jinja = true;
  inputs.parallel_tool_calls = JsonValue(body, "parallel_tool_calls", caps["supports_parallel_tool_calls"]);
  inputs.add_generation_prompt = JsonValue(body, "add_generation_prompt", true);
  inputs.continue_final_message = body.contains("continue_final_message")
                                      ? common_chat_continuation_parse(body.at("continue_final_message"))
                                      : COMMON_CHAT_CONTINUATION_NONE;
  if (inputs.continue_final_message == COMMON_CHAT_CONTINUATION_NONE && prefill_assistant && !inputs.messages.empty() &&
      inputs.messages.back().role == "assistant") {
    if (inputs.messages.size() >= 2 && inputs.messages[inputs.messages.size() - 2].role == "assistant") {
      throw std::invalid_argument("Cannot have 2 or more assistant messages at the end of the list.");
    }
    inputs.continue_final_message = COMMON_CHAT_CONTINUATION_AUTO;
    inputs.add_generation_prompt = false;
  }
  if (inputs.continue_final_message != COMMON_CHAT_CONTINUATION_NONE && inputs.add_generation_prompt) {
    throw std::invalid_argument("Cannot set both add_generation_prompt and continue_final_message to true.");
  }
  if (inputs.continue_final_message != COMMON_CHAT_CONTINUATION_NONE && !inputs.messages.empty() &&
      inputs.messages.back().role == "assistant" && !inputs.messages.back().tool_calls.empty()) {
    throw std::invalid_argument("Cannot continue an assistant message that contains tool calls.");
  }
  // llama-server's default (--reasoning-format deepseek)
  inputs.reasoning_format = COMMON_REASONING_FORMAT_DEEPSEEK;
  if (body.contains("reasoning_format")) {
    inputs.reasoning_format = common_reasoning_format_from_name(body.at("reasoning_format").get<std::string>());
  }
  // llama-server: enable_thinking = --reasoning (default auto) != off && the template supports it
  inputs.enable_thinking = JsonValue(body, "enable_thinking", true) && supports_thinking;
  ApplyResult out;
  if (!inputs.tools.empty() && inputs.tool_choice != COMMON_CHAT_TOOL_CHOICE_NONE) {
    if (body.contains("grammar")) throw std::invalid_argument("Cannot use custom grammar constraints with tools.");
    out.parse_tool_calls = true;
  }

  common_json kwargs = JsonValue(body, "chat_template_kwargs", common_json::object());
  if (kwargs.is_object()) {
    for (const auto& item : kwargs.items()) inputs.chat_template_kwargs[item.key()] = item.value().dump();
  }
  auto it = inputs.chat_template_kwargs.find("enable_thinking");
  const std::string enable_thinking_kwarg = it == inputs.chat_template_kwargs.end() ? "" : it->second;
  if (enable_thinking_kwarg == "true") {
    inputs.enable_thinking = true;
  } else if (enable_thinking_kwarg == "false") {
    inputs.enable_thinking = false;
  } else if (!enable_thinking_kwarg.empty() && enable_thinking_kwarg[0] == '"') {
    throw std::invalid_argument("invalid type for \"enable_thinking\" (expected boolean, got string)");
  }

  if (body.contains("reasoning_effort")) {
    std::string reasoning_effort = JsonValue(body, "reasoning_effort", std::string());
    if (reasoning_effort == "none") {
      inputs.enable_thinking = false;
      inputs.chat_template_kwargs.erase("reasoning_effort");
    } else if (!reasoning_effort.empty()) {
      inputs.chat_template_kwargs["reasoning_effort"] = common_json(reasoning_effort).dump();
    }
  }

  if (body.contains("now") && body.at("now").is_number()) {
    double ms = body.at("now").get<double>();
    if (!std::isfinite(ms) || std::fabs(ms) > 8.64e15) throw std::invalid_argument("'now' must be a time in milliseconds since the epoch");
    inputs.now = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::duration<double, std::milli>(ms)));
  }

  out.params = common_chat_templates_apply(tmpls, inputs);
  out.reasoning_format = common_reasoning_format_name(inputs.reasoning_format);
  out.enable_thinking = inputs.enable_thinking;
  out.parallel_tool_calls = inputs.parallel_tool_calls;
  out.is_continuation = inputs.continue_final_message != COMMON_CHAT_CONTINUATION_NONE;
  out.add_generation_prompt = inputs.add_generation_prompt;
  return out;
}

}  // namespace llama_native::chat
