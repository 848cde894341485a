// argv[2]: a model file; argv[3]: what to print when loading it fails: "name", "message" (name: the
// whole message) or "first-line" (name: the message's first line). Prints "loaded" when it loads.
const { ln, out } = require("./prelude.cjs");

const [file, report] = process.argv.slice(2);
const show = {
  name: (e) => e.name,
  message: (e) => e.name + ": " + e.message,
  "first-line": (e) => e.name + ": " + e.message.split("\n")[0],
}[report];
if (!show) throw new Error(`unknown report ${report}`);
ln.loadModel(file).then(
  () => out("loaded"),
  (e) => out(show(e)),
);
