#include "state_check.h"

#include <cstring>
#include <functional>

namespace llama_native {

namespace {

struct Reader {
  const uint8_t* p;
  size_t size;
  size_t at;
  bool Take(void* out, size_t n) {
    if (n > size - at) return false;
    std::memcpy(out, p + at, n);
    at += n;
    return true;
  }
  bool Skip(uint64_t n) {
    if (n > size - at) return false;
    at += static_cast<size_t>(n);
    return true;
  }
  template <typename T>
  bool Get(T& v) {
    return Take(&v, sizeof(T));
  }
};

constexpr uint32_t kMaxStreams = 256;  // LLAMA_MAX_SEQ
constexpr uint32_t kMaxLayers = 4096;

// One V block (either layout). False when it does not fit.
bool SkipVBlock(Reader& r, bool v_trans, uint32_t cells) {
  int32_t type;
  if (!r.Get(type)) return false;
  if (v_trans) {
    uint32_t el, n_embd;
    if (!r.Get(el) || !r.Get(n_embd)) return false;
    uint64_t bytes = static_cast<uint64_t>(el) * n_embd;
    if (cells != 0 && bytes > UINT64_MAX / cells) return false;
    return r.Skip(bytes * cells);
  }
  uint64_t row;
  if (!r.Get(row)) return false;
  if (cells != 0 && row > (r.size - r.at) / cells) return false;
  return r.Skip(row * cells);
}

struct Ctx {
  int32_t n_vocab;
  int32_t n_ctx_seq;
  size_t n_tokens;
  std::string error;
  void Fail(const std::string& e) {
    if (error.empty()) error = e;
  }
};

// Parses KV payload number `index` from r.at through the end of the data (more payloads after it
// allowed up to 2 in all); tries the two cell layouts and the possible V block counts.
bool ParsePayloads(const uint8_t* data, size_t size, size_t at, int index, Ctx& c);

bool ParseStreamsFrom(Reader r, uint32_t s, uint32_t n_stream, bool seen_cells, int index, Ctx& c);

// The cells and blocks of one non-empty stream, with a given cell record layout.
bool ParseCells(Reader r, uint32_t cells, bool ext, uint32_t s, uint32_t n_stream, int index, Ctx& c) {
  std::vector<bool> seen(c.n_tokens, false);
  for (uint32_t i = 0; i < cells; i++) {
    int32_t pos;
    uint32_t n_seq;
    if (!r.Get(pos) || !r.Get(n_seq)) return c.Fail("the cell list is cut short"), false;
    if (ext) {
      int32_t x, y, tok;
      if (!r.Get(x) || !r.Get(y) || !r.Get(tok)) return c.Fail("the cell list is cut short"), false;
      if (tok < -1 || tok >= c.n_vocab) return c.Fail("a cell names token " + std::to_string(tok) + ", outside the vocabulary"), false;
    }
    if (n_seq != 1) return c.Fail("a cell belongs to " + std::to_string(n_seq) + " sequences; a sequence state has one per cell"), false;
    int32_t seq;
    if (!r.Get(seq)) return c.Fail("the cell list is cut short"), false;
    if (pos < 0 || static_cast<size_t>(pos) >= c.n_tokens) {
      return c.Fail("a cell is at position " + std::to_string(pos) + ", outside the " + std::to_string(c.n_tokens) +
                    " tokens of the state"),
             false;
    }
    if (seen[static_cast<size_t>(pos)]) return c.Fail("two cells are at position " + std::to_string(pos)), false;
    seen[static_cast<size_t>(pos)] = true;
  }
  uint32_t v_trans, n_layer;
  if (!r.Get(v_trans) || !r.Get(n_layer)) return c.Fail("the tensor data is cut short"), false;
  if (v_trans > 1) return c.Fail("the V layout flag is " + std::to_string(v_trans)), false;
  if (n_layer == 0 || n_layer > kMaxLayers) return c.Fail("the state holds " + std::to_string(n_layer) + " layers"), false;
  for (uint32_t l = 0; l < n_layer; l++) {
    int32_t type;
    uint64_t row;
    if (!r.Get(type) || !r.Get(row)) return c.Fail("the K data is cut short"), false;
    if (row > (r.size - r.at) / cells) return c.Fail("the K data is cut short"), false;
    r.Skip(row * cells);
  }
  // V blocks: one per layer that has a V tensor (all of them, or none for K-only caches).
  // The error reported is the reading with a V block per layer (what llama.cpp writes for every
  // model with V caches); the reading without is tried silently.
  std::string first;
  for (uint32_t n_v : {n_layer, 0u}) {
    Reader v = r;
    bool fit = true;
    for (uint32_t l = 0; l < n_v && fit; l++) fit = SkipVBlock(v, v_trans == 1, cells);
    Ctx attempt = c;
    attempt.error.clear();
    if (fit && ParseStreamsFrom(v, s + 1, n_stream, true, index, attempt)) return true;
    if (n_v == n_layer) first = fit ? attempt.error : "the V data is cut short";
  }
  return c.Fail(first.empty() ? "the V data does not match the layers" : first), false;
}

// The streams from `s` on: an empty stream is a zero count; a sequence lives in one stream.
bool ParseStreamsFrom(Reader r, uint32_t s, uint32_t n_stream, bool seen_cells, int index, Ctx& c) {
  for (; s < n_stream; s++) {
    uint32_t cells;
    if (!r.Get(cells)) return c.Fail("the stream list is cut short"), false;
    if (cells == 0) continue;
    if (seen_cells) return c.Fail("cells of the sequence are in two streams"), false;
    if (cells > static_cast<uint32_t>(c.n_ctx_seq)) {
      return c.Fail("the state holds " + std::to_string(cells) + " cells; a sequence of this context holds " + std::to_string(c.n_ctx_seq)),
             false;
    }
    if (index == 0 && cells != c.n_tokens) {
      return c.Fail("the state lists " + std::to_string(c.n_tokens) + " tokens but holds " + std::to_string(cells) + " cells"), false;
    }
    for (bool ext : {false, true}) {
      if (ParseCells(r, cells, ext, s, n_stream, index, c)) return true;
    }
    return false;
  }
  if (index == 0 && !seen_cells && c.n_tokens != 0) {
    return c.Fail("the state lists " + std::to_string(c.n_tokens) + " tokens but holds no cells"), false;
  }
  if (r.at == r.size) return true;
  if (index >= 1) return c.Fail("data follows the end of the state"), false;
  // A second cache (interleaved-SWA models) may follow; when it does not parse either, say what
  // is wrong with the first reading rather than with a speculative second one.
  Ctx second = c;
  second.error.clear();
  if (ParsePayloads(r.p, r.size, r.at, index + 1, second)) return true;
  return c.Fail("the KV cache data does not end where its layers say (a truncated or padded state, or one of another model)"), false;
}

bool ParsePayloads(const uint8_t* data, size_t size, size_t at, int index, Ctx& c) {
  Reader r{data, size, at};
  uint32_t n_stream;
  if (!r.Get(n_stream)) return c.Fail("the state has no KV cache data"), false;
  if (n_stream == 0 || n_stream > kMaxStreams) return c.Fail("the state has " + std::to_string(n_stream) + " KV streams"), false;
  return ParseStreamsFrom(r, 0, n_stream, false, index, c);
}

}  // namespace

SeqStateCheck CheckSeqState(const uint8_t* data, size_t size, int32_t n_vocab, int32_t n_ctx_seq) {
  SeqStateCheck out;
  Reader r{data, size, 0};
  uint32_t magic, version, n_tokens;
  if (!r.Get(magic) || !r.Get(version) || !r.Get(n_tokens)) {
    out.error = "it is shorter than a sequence-state header (" + std::to_string(size) + " bytes)";
    return out;
  }
  if (magic != kStateSeqMagic) {
    out.error = "it is not a llama.cpp sequence-state file (no 'ggsq' magic)";
    return out;
  }
  if (version != kStateSeqVersion) {
    out.error =
        "it is sequence-state version " + std::to_string(version) + "; this llama.cpp reads version " + std::to_string(kStateSeqVersion);
    return out;
  }
  if (n_tokens > static_cast<uint32_t>(n_ctx_seq)) {
    out.error = "it holds " + std::to_string(n_tokens) + " tokens; a sequence of this context holds " + std::to_string(n_ctx_seq);
    return out;
  }
  if (static_cast<uint64_t>(n_tokens) * 4 > size - r.at) {
    out.error = "it is cut short in its token list";
    return out;
  }
  out.tokens.resize(n_tokens);
  for (uint32_t i = 0; i < n_tokens; i++) {
    int32_t t;
    r.Get(t);
    if (t < 0 || t >= n_vocab) {
      out.error =
          "token " + std::to_string(i) + " is " + std::to_string(t) + ", outside this model's vocabulary of " + std::to_string(n_vocab);
      out.tokens.clear();
      return out;
    }
    out.tokens[i] = t;
  }
  out.payload_offset = r.at;
  Ctx c{n_vocab, n_ctx_seq, n_tokens, {}};
  if (!ParsePayloads(data, size, r.at, 0, c)) {
    out.error = c.error.empty() ? "its KV cache data is malformed" : c.error;
    out.tokens.clear();
    return out;
  }
  out.ok = true;
  return out;
}

}  // namespace llama_native
