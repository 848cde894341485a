// One bad-media case (argv: model, projector, case): prints {"name","code","message"} of the error
// the library raised, or {"ok":true} when the call succeeded. Run by test/native/media.test.ts in a
// child process of its own, so that a crash in llama.cpp's decoders fails one test, not the run.
const fs = require("node:fs");
const { ln, out } = require("./prelude.cjs");

const [model, projector, which, file] = process.argv.slice(2);

(async () => {
  const m = await ln.loadModel(model);
  try {
    if (which === "load-projector") {
      await m.loadProjector(projector);
      out(JSON.stringify({ ok: true }));
      return;
    }
    await m.loadProjector(projector);
    const ctx = await m.createContext({ contextSize: 256 });
    const data = new Uint8Array(fs.readFileSync(file));
    const type = which === "audio" ? "audio" : "image";
    const r = await ctx.complete(`${ln.MEDIA_MARKER} once`, { media: [{ type, data }], maxTokens: 2 });
    out(JSON.stringify({ ok: true, text: r.text }));
  } catch (e) {
    out(JSON.stringify({ name: e.constructor.name, code: e.code, message: e.message }));
  } finally {
    await m.dispose();
  }
})();
