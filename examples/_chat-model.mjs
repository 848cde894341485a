// The model the chat examples use: the path given on the command line, or, when there is none, a copy
// of ../shared/models/stories260K.gguf with Qwen 2.5's chat template added to its metadata (a tiny
// story model: it follows the template's format, not your questions, but every feature runs on it).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export async function chatModelPath(arg) {
  if (arg) return arg;
  const stories = process.env.LLAMA_NATIVE_TEST_MODEL ?? path.resolve(root, "..", "shared", "models", "stories260K.gguf");
  const out = path.join(root, "test", "fixtures", "generated", "example-chat-model.gguf");
  if (!fs.existsSync(out)) {
    if (!fs.existsSync(stories)) throw new Error("give a chat model: node examples/<example>.mjs MODEL.gguf");
    const { makeChatModel } = await import("../scripts/make-chat-model.mjs");
    const template = fs.readFileSync(
      path.join(root, "vendor", "llama.cpp", "models", "templates", "Qwen-Qwen2.5-7B-Instruct.jinja"),
      "utf8",
    );
    fs.mkdirSync(path.dirname(out), { recursive: true });
    await makeChatModel(stories, template, out);
    console.error(`(no model given: using ${path.relative(process.cwd(), out)}, stories260K with Qwen 2.5's chat template)`);
  }
  return out;
}
