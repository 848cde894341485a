// The AI SDK over a local model: generateText, streamText, structured output with a zod schema, a
// tool the SDK runs, and embedMany, through llama-native's provider (needs `npm i ai zod`).
//   node examples/ai-sdk.mjs [MODEL.gguf]
import fs from "node:fs";
import { Output, embedMany, generateText, stepCountIs, streamText, tool } from "ai";
import { llamaNative } from "llama-native/ai-sdk";
import { z } from "zod";
import { chatModelPath } from "./_chat-model.mjs";

globalThis.AI_SDK_LOG_WARNINGS = false;
const llama = llamaNative({
  model: await chatModelPath(process.argv[2]),
  context: { contextSize: 4096, sequences: 2 }, // two calls may generate at once
  embeddingContext: { contextSize: 512, pooling: "mean" }, // one vector per value
});

// A whole answer.
const { text, usage, finishReason } = await generateText({
  model: llama(),
  prompt: "Tell me about a cat.",
  temperature: 0,
  maxOutputTokens: 48,
});
console.log(JSON.stringify(text), finishReason, usage.outputTokens, "tokens");

// Streamed.
const stream = streamText({ model: llama(), prompt: "Tell me about a dog.", temperature: 0, maxOutputTokens: 32 });
for await (const delta of stream.textStream) process.stdout.write(delta);
process.stdout.write("\n");

// Structured output: the schema becomes a grammar, so the answer always parses.
const { output } = await generateText({
  model: llama(),
  output: Output.object({ schema: z.object({ name: z.string().max(12), legs: z.number().int().min(0).max(8) }) }),
  prompt: "Describe an animal.",
  temperature: 0,
  maxOutputTokens: 64,
});
console.log(output);

// A tool the SDK runs: the first step must call it, then the model answers the result. (The default
// stories260K never opens a call under Qwen 2.5's template, whose "required" grammar allows text first;
// without a model argument this part uses Command R+'s template, whose grammar starts the call at once.)
const toolLlama = process.argv[2]
  ? llama
  : llamaNative({
      model: await llama.model(),
      chatTemplate: fs.readFileSync(
        new URL("../vendor/llama.cpp/models/templates/CohereForAI-c4ai-command-r-plus-tool_use.jinja", import.meta.url),
        "utf8",
      ),
      context: { contextSize: 2048 },
    });
const r = await generateText({
  model: toolLlama.languageModel({ parallelToolCalls: false }),
  prompt: "What is the weather in Paris?",
  tools: {
    get_weather: tool({
      description: "The current weather in a city",
      inputSchema: z.object({ city: z.string().max(20) }),
      execute: async ({ city }) => ({ city, sky: "clear", celsius: 21 }),
    }),
  },
  prepareStep: ({ stepNumber }) => ({ toolChoice: stepNumber === 0 ? "required" : "none" }),
  stopWhen: stepCountIs(2),
  temperature: 0,
  maxOutputTokens: 200,
});
console.log(JSON.stringify(r.steps[0].toolCalls.map((c) => [c.toolName, c.input])), JSON.stringify(r.text));
if (toolLlama !== llama) await toolLlama.dispose();

// Embeddings.
const { embeddings } = await embedMany({ model: llama.embeddingModel(), values: ["a cat", "a dog"] });
console.log(embeddings.length, "vectors of", embeddings[0].length);

await llama.dispose();
