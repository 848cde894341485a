// What every program here starts with: the built library (dist/, so `npm run build:ts` first), its
// raw native binding, and `out` for the lines the test reads back from stdout.
const path = require("node:path");

const dist = path.resolve(__dirname, "..", "..", "..", "dist", "index.js");
const ln = require(dist);
const { binding } = require(path.join(path.dirname(dist), "binding.js"));
const out = (...a) => console.log(...a);

module.exports = { dist, ln, binding, out };
