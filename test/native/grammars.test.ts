// Grammars that would overflow llama.cpp's stack, hang it, or that its parser reads differently:
// each is a LlamaError, and the context keeps working.
// Each case runs in a child process (./child.ts), so an abort fails one test, not the run.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { root } from "../helpers";
import { child } from "./child";

describe("grammars npm run fuzz found to hang llama.cpp are refused (test/fixtures/fuzz)", () => {
  // x{m,n} with n < m: llama.cpp counted n - m optional copies in a uint64 and looped for ever;
  // nested or ambiguous repetitions made its parser stacks grow exponentially (minutes per token)
  const dir = path.join(root, "test", "fixtures", "fuzz");
  const grammars = [
    ...fs
      .readdirSync(dir)
      .filter((f) => f.endsWith(".gbnf"))
      .map((f) => fs.readFileSync(path.join(dir, f), "latin1")),
    'root ::= "a"{1,0}',
    'root ::= ("x" | "y"){ 9 , 5 }',
  ];
  it(`${grammars.length} grammars: each a LlamaError within seconds, and the context keeps working`, () => {
    const r = child("refused-grammars.cjs", { args: [JSON.stringify(grammars)], timeout: 30_000 });
    expect(r.status, r.summary).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual([...Array(grammars.length).fill("LlamaError: refused"), '"aa"']);
  });
});

describe("the grammar checks read comments as llama.cpp does", () => {
  it("a comment ended by a carriage return does not hide deep nesting or an inverted repetition", () => {
    const r = child("grammar-comments.cjs", { timeout: 30_000 });
    expect(r.status, r.summary).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual([
      "LlamaError: invalid grammar: parentheses nest 60000 levels deep",
      "LlamaError: invalid grammar: repetition {6,5} has its upper bound below its lower bound",
    ]);
  });
});

describe("hostile grammars end in errors, not stack overflows", () => {
  it("60,000 nested parentheses, a 5,000-rule chain, left recursion, malformed GBNF", () => {
    const r = child("hostile-grammars.cjs");
    expect(r.status, r.summary).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toBe("LlamaError: invalid grammar: parentheses nest 60000 levels deep; at most 1000 are supported");
    expect(lines[1]).toBe('ok "a"');
    expect(lines[2]).toMatch(/^LlamaError: invalid grammar: .*left recursion/);
    expect(lines[3]).toMatch(/^LlamaError: invalid grammar/);
    expect(lines[4]).toBe("2");
  });
});
