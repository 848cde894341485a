import fs from "node:fs";
import { loadModel, systemInfo } from "../../dist/index.mjs";
const si = systemInfo();
console.log("backend", si.gpu, "devices", JSON.stringify(si.devices), "gpu offload", si.supportsGpuOffload);
const oracle = JSON.parse(fs.readFileSync("test/fixtures/oracles/stories260K.json", "utf8"));
for (const file of process.argv.slice(2)) {
  for (const gpuLayers of [-1, 0]) {
    const model = await loadModel(file, { gpuLayers });
    const ctx = await model.createContext({ contextSize: 1024 });
    const prompt = "Once upon a time";
    const rates = [];
    let text = "";
    for (let i = 0; i < 4; i++) {
      await ctx.clearCache();
      const r = await ctx.complete(prompt, { temperature: 0, maxTokens: 128 });
      if (i > 0) rates.push((r.timings.generatedTokens / r.timings.generateMs) * 1000);
      text = r.text;
    }
    rates.sort((a, b) => a - b);
    let same = "";
    if (file.includes("stories260K")) {
      const g = oracle.generation[0];
      const mine = await ctx.complete(prompt, { temperature: 0, maxTokens: g.n });
      const pieces = Array.from(model.tokenize(prompt, { parseSpecial: true }))
        .map((t) => model.tokenToPiece(t))
        .join("");
      same = ` equals llama-simple (CPU) for -n ${g.n}: ${pieces + mine.text + "\n" === g.stdout}`;
    }
    console.log(
      `${file.split("/").pop()} gpuLayers=${gpuLayers}: tg128 streamed median ${rates[1].toFixed(0)} tok/s (runs ${rates.map((x) => x.toFixed(0)).join(", ")})${same}; text ${JSON.stringify(text.slice(0, 60))}`,
    );
    await model.dispose();
  }
}
