// Context shift (createContext({ contextShift })): when a generation fills its sequence, drop the
// oldest half of what follows the kept prefix and slide the rest back, as llama.cpp's tools do
// (tools/completion/completion.cpp, tools/server/server-context.cpp: n_discard = (n_past - n_keep) / 2,
// llama_memory_seq_rm + llama_memory_seq_add).
#pragma once

#include <vector>

#include "context_handle.h"

namespace llama_native {

// Engine thread, between decodes. True when the sequence has room for the next token: it was not
// full, or it was shifted. False when nothing can be dropped (the kept prefix fills it).
bool MakeRoom(ContextHandle& h, int32_t seq, const std::vector<llama_token>& prompt);

}  // namespace llama_native
