// Checks a sequence-state file (llama_state_seq_save_file's format) before llama.cpp reads it.
// Pure: no llama.cpp calls, so fuzz/state_fuzzer.cpp can drive it alone and with llama.cpp after it.
//
// The format (llama-context.cpp state_seq_save_file, llama-kv-cache.cpp state_write):
//   u32 magic 'ggsq', u32 version 3, u32 n_token, i32 token[n_token], then one KV-cache payload per
//   attention cache of the model (two for interleaved-SWA models):
//   u32 n_stream, then per stream u32 cell_count and, when it is not 0,
//     cell_count × (i32 pos, u32 n_seq_id, [i32 x, i32 y, i32 tok when the cache keeps cell extras],
//                   i32 seq_id × n_seq_id)
//     u32 v_trans, u32 n_layer, n_layer × (i32 k_type, u64 k_row, k_row × cell_count bytes),
//     V blocks: per layer with a V tensor (i32 type, u64 row, row × cells) or, when v_trans,
//               (i32 type, u32 el, u32 n_embd, el × n_embd × cells)
//
// What llama.cpp does at this revision with such bytes, restoring a 42-token state of the fuzz model
// (fuzz/corpus/state/plain-40) with llama_state_seq_set_data alone and decoding after it: a cell count
// of 2^31-1 never returned (killed after 60 s: it reserves a batch of that many cells); a position of
// 100000, or a gap in the positions, restores "successfully" and every later decode of the sequence
// fails (-1); a negative or repeated position restores a cache that no longer matches its tokens,
// silently. A cell count above the cache, a token list longer than the file, and wrong layer counts,
// types and row sizes it refuses cleanly. So, what llama.cpp does not check and this does: cell counts against the context (a huge count is
// a huge allocation), one sequence per cell, positions distinct and inside the token list (arbitrary positions desynchronize the cache from
// the tokens and trip asserts in later decodes), token ids and the cells' token extras inside the vocabulary, block sizes inside the file,
// and that the payload ends exactly where the file does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace llama_native {

constexpr uint32_t kStateSeqMagic = 0x67677371u;  // LLAMA_STATE_SEQ_MAGIC
constexpr uint32_t kStateSeqVersion = 3;  // LLAMA_STATE_SEQ_VERSION
constexpr size_t kStateHeaderBytes = 12;

struct SeqStateCheck {
  bool ok = false;
  std::string error;  // why not, when !ok
  std::vector<int32_t> tokens;  // the token list of the file
  size_t payload_offset = 0;  // where the KV payload starts
};

// n_vocab: the model's vocabulary; n_ctx_seq: positions one sequence of the context may hold.
SeqStateCheck CheckSeqState(const uint8_t* data, size_t size, int32_t n_vocab, int32_t n_ctx_seq);

}  // namespace llama_native
