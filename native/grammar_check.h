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
    if (c == '#') {  // comment to end of line
      while (i < g.size() && g[i] != '\n') i++;
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

// Empty when the text may go to llama.cpp's parser; else why not.
inline std::string CheckGrammarText(const std::string& g) {
  int nesting = GrammarNesting(g);
  if (nesting > kMaxGrammarNesting) {
    return "parentheses nest " + std::to_string(nesting) + " levels deep; at most " + std::to_string(kMaxGrammarNesting) +
           " are supported";
  }
  return "";
}

}  // namespace llama_native
