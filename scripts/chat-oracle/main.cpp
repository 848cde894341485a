// chat-oracle < cases.json > results.json
// cases: [{ "template", "bos", "eos", "request": {...}, "outputs": [{ "text", "partial" }] }]
// For each case: llama-server's oaicompat_chat_params_parse(request) with --jinja and default settings
// (the template given as --chat-template, reasoning auto, --reasoning-format deepseek), then each
// output fed to a fresh task_result_state as llama-server streams it (the whole text at once, partial
// or final), with the chat parser params set the way server-schema.cpp sets them from those params.
// Errors are results too: { "error": message }.
#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>

#include "chat.h"
#include "common.h"
#include "log.h"
#include "server-common.h"
#include "server-task.h"

static json run_case(const json & c) {
    json out = json::object();
    server_chat_params opt;
    opt.use_jinja = true;
    opt.prefill_assistant = true;
    opt.reasoning_format = COMMON_REASONING_FORMAT_DEEPSEEK;
    opt.allow_image = opt.allow_audio = opt.allow_video = false;
    try {
        opt.tmpls = common_chat_templates_init(nullptr, c.at("template").get<std::string>(),
                                               c.value("bos", std::string()), c.value("eos", std::string()));
        // server-context.cpp: thinking = --reasoning (auto) != off && the template supports it
        opt.enable_thinking = common_chat_templates_support_enable_thinking(opt.tmpls.get());
    } catch (const std::exception & e) {
        out["error"] = std::string(e.what());
        return out;
    }
    json body = c.at("request");
    json params;
    std::vector<raw_buffer> files;
    try {
        params = oaicompat_chat_params_parse(body, opt, files);
    } catch (const std::exception & e) {
        out["error"] = std::string(e.what());
        return out;
    }
    json p = json::object();
    for (const char * k : {"prompt", "chat_format", "grammar", "grammar_lazy", "grammar_triggers", "preserved_tokens",
                           "generation_prompt", "stop", "chat_parser", "parse_tool_calls", "message_delimiters",
                           "reasoning_budget_start_tag", "reasoning_budget_end_tags"}) {
        if (params.contains(k)) p[k] = params.at(k);
    }
    out["params"] = p;

    common_chat_parser_params pp;
    pp.format = static_cast<common_chat_format>(params.at("chat_format").get<int>());
    pp.reasoning_format = body.contains("reasoning_format")
        ? common_reasoning_format_from_name(body.at("reasoning_format").get<std::string>())
        : COMMON_REASONING_FORMAT_DEEPSEEK;
    pp.generation_prompt = params.value("generation_prompt", std::string());
    pp.parse_tool_calls = params.value("parse_tool_calls", false);
    if (params.contains("chat_parser")) pp.parser.load(params.at("chat_parser").get<std::string>());
    if (body.contains("continue_final_message")) {
        pp.is_continuation = common_chat_continuation_parse(body.at("continue_final_message")) != COMMON_CHAT_CONTINUATION_NONE;
    }
    json parses = json::array();
    if (c.contains("outputs")) {
        for (const auto & o : c.at("outputs")) {
            json r = json::object();
            try {
                task_result_state state(pp);
                std::vector<common_chat_msg_diff> diffs;
                auto msg = state.update_chat_msg(o.at("text").get<std::string>(), o.at("partial").get<bool>(), diffs);
                r["message"] = msg.to_json_oaicompat();
            } catch (const std::exception & e) {
                r["error"] = std::string(e.what());
            }
            parses.push_back(r);
        }
    }
    out["parses"] = parses;
    return out;
}

int main() {
    common_log_pause(common_log_main());
    std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    json cases = json::parse(input);
    json results = json::array();
    for (const auto & c : cases) results.push_back(run_case(c));
    std::cout << results.dump(1) << std::endl;
    return 0;
}
