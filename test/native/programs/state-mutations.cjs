// Restores hundreds of mutated sequence states (flipped bytes, overwritten counts and positions,
// truncations, duplicated spans) of a real state and generates after each accepted one. Every
// restore must resolve or reject with InvalidStateError; a crash kills this child and fails the test.
// argv[2]: iterations (default 400). Prints "accepted A refused R" and then "alive".
const { ln, out } = require("./prelude.cjs");

let seed = 12345;
const rand = (n) => {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return (seed >>> 8) % n;
};
const INTERESTING = [0, 1, 2, 3, 63, 64, 65, 255, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe];

function mutate(good) {
  const b = new Uint8Array(good);
  const dv = new DataView(b.buffer);
  switch (rand(5)) {
    case 0: // flip bytes
      for (let i = 0, n = 1 + rand(4); i < n; i++) b[rand(b.length)] ^= 1 << rand(8);
      return b;
    case 1: // a 32-bit field to an interesting value, aligned (counts, positions, types)
      dv.setUint32(4 * rand(Math.min(b.length >> 2, 200)), INTERESTING[rand(INTERESTING.length)], true);
      return b;
    case 2: // truncate
      return b.subarray(0, rand(b.length));
    case 3: {
      // duplicate a span
      const at = rand(b.length),
        len = rand(64);
      const c = new Uint8Array(b.length + len);
      c.set(b.subarray(0, at));
      c.set(b.subarray(at, at + len), at);
      c.set(b.subarray(at), at + Math.min(len, b.length - at));
      return c;
    }
    default: // a 32-bit field anywhere
      if (b.length >= 4) dv.setUint32(rand(b.length - 3), INTERESTING[rand(INTERESTING.length)], true);
      return b;
  }
}

(async () => {
  const iterations = Number(process.argv[2] ?? 400);
  const model = await ln.loadModel(process.env.LN_MODEL);
  const goods = [];
  for (const options of [{}, { contextShift: { keep: 1 } }]) {
    const ctx = await model.createContext({ contextSize: 64, threads: 1, ...options });
    await ctx.complete([1, 100, 101, 102], { temperature: 0, maxTokens: 30 });
    goods.push(await ctx.getState());
    await ctx.complete([1, 100, 101, 102], { temperature: 0, maxTokens: 90, logitBias: { 2: -Infinity } });
    goods.push(await ctx.getState());
    await ctx.dispose();
  }
  const ctx = await model.createContext({ contextSize: 64, threads: 1 });
  let accepted = 0,
    refused = 0;
  for (let i = 0; i < iterations; i++) {
    const bytes = mutate(goods[i % goods.length]);
    try {
      const n = await ctx.setState(bytes);
      accepted++;
      const cached = Array.from(ctx.cachedTokens());
      if (cached.length !== n) throw new Error(`restored ${n} tokens but the cache lists ${cached.length}`);
      if (n < 60) await ctx.complete([...cached, 5], { temperature: 0, maxTokens: 2 });
    } catch (e) {
      if (!(e instanceof ln.InvalidStateError)) throw e;
      refused++;
    }
  }
  out(`accepted ${accepted} refused ${refused}`);
  const r = await ctx.complete([1, 100], { temperature: 0, maxTokens: 3 });
  out(r.tokens.length === 3 ? "alive" : "broken");
  await model.dispose();
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
