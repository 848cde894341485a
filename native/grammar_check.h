// Checks on GBNF text before llama.cpp's parser sees it. Plain C++ (no N-API), shared with the
// fuzz harness in fuzz/grammar_fuzzer.cpp.
#pragma once

#include <algorithm>
#include <string>

namespace llama_native {

// llama.cpp's GBNF parser recurses once per nesting level of ( ) and overflows the thread's stack
// (SIGSEGV) on hostile input such as 60,000 nested parentheses. Real grammars nest a few levels.
constexpr int kMaxGrammarNesting = 1000;

inline int GrammarNesting(const std::string& g) {
  int depth = 0, max = 0;
  for (size_t i = 0; i < g.size(); i++) {
    char c = g[i];
    if (c == '#') {  // comment to end of line (llama.cpp ends it at \r as well as \n)
      while (i < g.size() && g[i] != '\n' && g[i] != '\r') i++;
    } else if (c == '"' || c == '[') {  // string literal or character class, with escapes
      char close = c == '"' ? '"' : ']';
      for (i++; i < g.size() && g[i] != close; i++) {
        if (g[i] == '\\') i++;
      }
    } else if (c == '(') {
      max = std::max(max, ++depth);
    } else if (c == ')') {
      depth--;
    }
  }
  return max;
}

// llama.cpp expands x{m,n} into n - m optional copies counted in an unsigned 64-bit integer: with
// n < m that wraps around and the parser loops (practically) forever, holding the thread that parses.
// Found by npm run fuzz. Returns the first such repetition ("{7,5}"), or "".
inline std::string InvertedRepetition(const std::string& g) {
  auto skip_space = [&](size_t i) {
    while (i < g.size() && (g[i] == ' ' || g[i] == '\t' || g[i] == '\r' || g[i] == '\n')) i++;
    return i;
  };
  // the digits at i as a number (saturating: llama.cpp rejects what does not fit anyway)
  auto number = [&](size_t& i) {
    unsigned long long v = 0;
    while (i < g.size() && g[i] >= '0' && g[i] <= '9') {
      v = v > 1000000000000ULL ? v : v * 10 + static_cast<unsigned long long>(g[i] - '0');
      i++;
    }
    return v;
  };
  for (size_t i = 0; i < g.size(); i++) {
    char c = g[i];
    if (c == '#') {
      while (i < g.size() && g[i] != '\n' && g[i] != '\r') i++;
    } else if (c == '"' || c == '[') {
      char close = c == '"' ? '"' : ']';
      for (i++; i < g.size() && g[i] != close; i++) {
        if (g[i] == '\\') i++;
      }
    } else if (c == '{') {
      size_t j = skip_space(i + 1);
      if (j >= g.size() || g[j] < '0' || g[j] > '9') continue;
      unsigned long long lo = number(j);
      j = skip_space(j);
      if (j >= g.size() || g[j] != ',') continue;
      j = skip_space(j + 1);
      if (j >= g.size() || g[j] < '0' || g[j] > '9') continue;
      unsigned long long hi = number(j);
      if (hi < lo) return "{" + std::to_string(lo) + "," + std::to_string(hi) + "}";
    }
  }
  return "";
}

// Empty when the text may go to llama.cpp's parser; else why not.
inline std::string CheckGrammarText(const std::string& g) {
  int nesting = GrammarNesting(g);
  if (nesting > kMaxGrammarNesting) {
    return "parentheses nest " + std::to_string(nesting) + " levels deep; at most " + std::to_string(kMaxGrammarNesting) + " are supported";
  }
  std::string inverted = InvertedRepetition(g);
  if (!inverted.empty()) {
    return "repetition " + inverted + " has its upper bound below its lower bound";
  }
  return "";
}

}  // namespace llama_native
