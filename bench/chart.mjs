#!/usr/bin/env node
// Draws bench/chart.svg from bench/results.json (written by npm run bench): tokens/s against
// threads for llama.cpp's own tools, llama-native and node-llama-cpp, one panel per model and test.
//   node bench/chart.mjs [results.json] [chart.svg]
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const input = process.argv[2] ?? path.join(here, "results.json");
const output = process.argv[3] ?? path.join(here, "chart.svg");
const r = JSON.parse(fs.readFileSync(input, "utf8"));

const systems = [
  { key: "native", label: "llama.cpp (llama-bench)", color: "#4c78a8" },
  { key: "ours", label: "llama-native", color: "#e45756" },
  { key: "peer", label: "node-llama-cpp 3.21.1", color: "#9d9d9d" },
];
const models = [...new Set(r.rows.map((x) => x.model))];
const tests = [...new Set(r.rows.map((x) => x.test))].sort((a, b) => (a.startsWith("tg") ? -1 : 1) - (b.startsWith("tg") ? -1 : 1));
const threads = [...new Set(r.rows.map((x) => x.threads))].sort((a, b) => a - b);

const W = 300,
  H = 220,
  M = { l: 58, r: 14, t: 34, b: 40 };
const width = models.length * W,
  height = tests.length * H + 70;
const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;");
const nice = (v) => {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
};
const fmt = (v) => (v >= 1000 ? `${(v / 1000).toFixed(v >= 10000 ? 0 : 1)}k` : v.toFixed(0));

const parts = [];
parts.push(
  `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="11">`,
);
parts.push(`<rect width="100%" height="100%" fill="white"/>`);
tests.forEach((test, ti) => {
  models.forEach((model, mi) => {
    const x0 = mi * W,
      y0 = ti * H;
    const rows = r.rows.filter((x) => x.model === model && x.test === test);
    const max = nice(Math.max(1, ...rows.flatMap((x) => systems.map((s) => x[s.key]).filter(Number.isFinite))) * 1.05);
    const px = (t) => x0 + M.l + (threads.length === 1 ? 0.5 : threads.indexOf(t) / (threads.length - 1)) * (W - M.l - M.r);
    const py = (v) => y0 + H - M.b - (v / max) * (H - M.t - M.b);
    parts.push(`<text x="${x0 + W / 2}" y="${y0 + 18}" text-anchor="middle" font-weight="bold">${esc(model)} — ${esc(test)}</text>`);
    for (let k = 0; k <= 4; k++) {
      const v = (max * k) / 4,
        y = py(v);
      parts.push(`<line x1="${x0 + M.l}" x2="${x0 + W - M.r}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`);
      parts.push(`<text x="${x0 + M.l - 6}" y="${y + 4}" text-anchor="end" fill="#555">${fmt(v)}</text>`);
    }
    for (const t of threads) {
      parts.push(`<text x="${px(t)}" y="${y0 + H - M.b + 16}" text-anchor="middle" fill="#555">${t}</text>`);
    }
    parts.push(`<text x="${x0 + M.l + (W - M.l - M.r) / 2}" y="${y0 + H - 8}" text-anchor="middle" fill="#555">threads</text>`);
    parts.push(
      `<text transform="translate(${x0 + 14} ${y0 + (H - M.b + M.t) / 2}) rotate(-90)" text-anchor="middle" fill="#555">tokens/s</text>`,
    );
    for (const s of systems) {
      const pts = threads.map((t) => [t, rows.find((x) => x.threads === t)?.[s.key]]).filter(([, v]) => Number.isFinite(v));
      if (pts.length === 0) continue;
      if (pts.length > 1)
        parts.push(
          `<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${pts.map(([t, v]) => `${px(t)},${py(v)}`).join(" ")}"/>`,
        );
      for (const [t, v] of pts)
        parts.push(
          `<circle cx="${px(t)}" cy="${py(v)}" r="3.5" fill="${s.color}"><title>${esc(s.label)}: ${v.toFixed(1)} tokens/s at ${t} threads</title></circle>`,
        );
    }
  });
});
const ly = tests.length * H + 20;
systems.forEach((s, i) => {
  const lx = 20 + i * 210;
  parts.push(
    `<rect x="${lx}" y="${ly}" width="14" height="4" fill="${s.color}"/><text x="${lx + 20}" y="${ly + 6}">${esc(s.label)}</text>`,
  );
});
parts.push(
  `<text x="20" y="${ly + 30}" fill="#555">${esc(`${r.machine.cpu}, ${r.machine.cores} cores, Node ${r.machine.node}; medians of ${r.runs} runs; ${r.when.slice(0, 10)}`)}</text>`,
);
parts.push(`</svg>`);
fs.writeFileSync(output, parts.join("\n") + "\n");
console.error(`wrote ${path.relative(process.cwd(), output)}`);
