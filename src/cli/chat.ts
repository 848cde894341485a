// llama-native chat: an interactive conversation in the terminal. Answers stream; the history (and
// its KV cache) is kept by a ChatSession; reasoning is shown dimmed; Ctrl-C stops the answer (not
// the program), Ctrl-D or /exit leaves; /system TEXT, /reset and /save FILE manage the conversation;
// with --mmproj, /image FILE (and /audio FILE) attach a file to the next message.
import fs from "node:fs";
import readline from "node:readline";
import type { ChatSession, ContentPart } from "../index";
import { type Command, parse, UsageError } from "./args";
import { contextFromFlags, loadFromFlags, MODEL_FLAGS, MODEL_USAGE } from "./model-flags";
import { SAMPLING_FLAGS, SAMPLING_USAGE, samplingFromFlags } from "./sampling-flags";

const USAGE = `llama-native chat -m MODEL [options]
    An interactive chat through the model's chat template. Commands inside: /system TEXT (set the
    system message and start over), /reset (forget the conversation), /save FILE (the messages as
    JSON), /image FILE and /audio FILE (attach a picture or a clip to the next message; needs
    --mmproj), /exit. Ctrl-C stops an answer; Ctrl-D leaves.
${MODEL_USAGE}
${SAMPLING_USAGE}
    --system TEXT         the system message
    --chat-template-file FILE   a Jinja chat template overriding the model's
    --no-think            ask thinking models not to think (enableThinking: false)
    --mmproj FILE         a multimodal projector for the model (images and audio: /image, /audio)`;

const DIM = "\x1b[2m";
const RESET = "\x1b[0m";

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      ...MODEL_FLAGS,
      ...SAMPLING_FLAGS,
      system: { type: "string" },
      "chat-template-file": { type: "string" },
      "no-think": { type: "boolean" },
      mmproj: { type: "string" },
    },
    false,
  );
  if (positionals.length) throw new UsageError("chat takes no arguments (type messages at the prompt)");
  const turn = samplingFromFlags(values);
  if (values.grammar !== undefined) throw new UsageError("--grammar is not available in chat (use responseFormat through the API)");
  let template: string | undefined;
  if (typeof values["chat-template-file"] === "string") {
    try {
      template = fs.readFileSync(values["chat-template-file"], "utf8");
    } catch (e) {
      throw new UsageError(`--chat-template-file: ${(e as Error).message}`);
    }
  }
  const tty = process.stdout.isTTY === true;
  const model = await loadFromFlags(values);
  try {
    if (typeof values.mmproj === "string") await model.loadProjector(values.mmproj);
    const ctx = await contextFromFlags(model, values);
    const options = { ...turn, ...(template ? { template } : {}), ...(values["no-think"] ? { enableThinking: false } : {}) };
    let system = values.system as string | undefined;
    const newSession = (): ChatSession => ctx.createChatSession({ ...(system !== undefined ? { system } : {}), options });
    let session = newSession();
    const rl = readline.createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY === true });
    let answering: AbortController | undefined;
    let closed = false;
    rl.on("SIGINT", () => {
      if (answering) answering.abort();
      else process.stdout.write("\n(Ctrl-D or /exit leaves)\n> ");
    });
    rl.on("close", () => {
      closed = true;
      answering?.abort();
    });
    const lines = rl[Symbol.asyncIterator]();
    let attached: ContentPart[] = [];
    if (tty) console.error(`${model.info.name || model.path}: chat (Ctrl-C stops an answer, Ctrl-D leaves, /help for commands)`);
    for (;;) {
      if (closed) break;
      rl.setPrompt("> ");
      rl.prompt();
      const next = await lines.next();
      if (next.done) break;
      const line = next.value.trim();
      if (line === "") continue;
      if (line === "/exit" || line === "/quit") break;
      if (line === "/help") {
        console.log(
          "/system TEXT  set the system message (starts over)\n/reset        forget the conversation\n/save FILE    write the messages as JSON\n" +
            "/image FILE   attach a picture to the next message (--mmproj)\n/audio FILE   attach an audio clip to the next message\n/exit         leave",
        );
        continue;
      }
      if (line === "/reset") {
        session.reset();
        console.log("(conversation forgotten)");
        continue;
      }
      if (line.startsWith("/system")) {
        system = line.slice(7).trim() || undefined;
        await session.dispose();
        session = newSession();
        console.log(system ? "(system message set; conversation started over)" : "(system message removed; conversation started over)");
        continue;
      }
      if (line.startsWith("/save")) {
        const file = line.slice(5).trim();
        if (!file) {
          console.log("(usage: /save FILE)");
          continue;
        }
        try {
          fs.writeFileSync(file, `${JSON.stringify(session.messages, null, 2)}\n`);
          console.log(`(saved ${session.messages.length} messages to ${file})`);
        } catch (e) {
          console.log(`(could not save: ${(e as Error).message})`);
        }
        continue;
      }
      if (line.startsWith("/image") || line.startsWith("/audio")) {
        const type = line.startsWith("/image") ? "image" : "audio";
        const file = line.slice(6).trim();
        if (!file) {
          console.log(`(usage: /${type} FILE)`);
          continue;
        }
        if (!model.info.modalities[type === "image" ? "vision" : "audio"]) {
          console.log(`(this model takes no ${type === "image" ? "images" : "audio"}: start the chat with --mmproj FILE)`);
          continue;
        }
        try {
          attached.push({ type, data: new Uint8Array(fs.readFileSync(file)) });
          console.log(`(${file} goes with your next message)`);
        } catch (e) {
          console.log(`(could not read ${file}: ${(e as Error).message})`);
        }
        continue;
      }
      if (line.startsWith("/")) {
        console.log(`(unknown command ${line.split(" ")[0]}; /help lists them)`);
        continue;
      }
      answering = new AbortController();
      let dim = false;
      try {
        const content: string | ContentPart[] = attached.length ? [...attached, { type: "text", text: line }] : line;
        attached = [];
        const it = session.stream(content, { signal: answering.signal });
        let r = await it.next();
        while (!r.done) {
          const c = r.value;
          if (c.reasoning) {
            process.stdout.write(`${tty && !dim ? DIM : ""}${c.reasoning}`);
            dim = true;
          }
          if (c.text) {
            process.stdout.write(`${dim ? `${tty ? RESET : ""}\n` : ""}${c.text}`);
            dim = false;
          }
          for (const call of c.toolCalls) if (call.name) process.stdout.write(`[tool call ${call.name}]`);
          r = await it.next();
        }
        process.stdout.write(`${tty ? RESET : ""}\n`);
        if (r.value.stopReason === "abort") console.log("(stopped)");
      } catch (e) {
        process.stdout.write(`${tty ? RESET : ""}\n`);
        console.error(`error: ${(e as Error).message}`);
      } finally {
        answering = undefined;
      }
    }
    rl.close();
    await session.dispose();
    return 0;
  } finally {
    await model.dispose();
  }
}

export const chat: Command = {
  name: "chat",
  summary: "an interactive chat in the terminal (the model's chat template)",
  usage: USAGE,
  run,
};
