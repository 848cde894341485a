// Native methods called on objects that are not what they were made for throw TypeError.
const { binding, out } = require("./prelude.cjs");

const b = binding();
const calls = [
  () => b.Model.prototype.tokenize.call({}, "x", true, false),
  () => b.Model.prototype.info.call(Object.create(b.Model.prototype)),
  () => b.Context.prototype.generate.call({}, new Int32Array([1]), {}, undefined, () => {}),
  () => b.Context.prototype.dispose.call(new b.AbortFlag()),
  () => b.AbortFlag.prototype.abort.call({}),
  () => new b.Model(),
  () => new b.Context({}),
  () => b.Projector.prototype.info.call({}),
  () => b.Projector.prototype.tokenize.call(new b.AbortFlag(), "x", []),
  () => new b.Projector(),
  () => b.Projector.load({}, "/tmp/x.gguf", {}),
];
for (const c of calls) {
  try {
    c();
    out("no error");
  } catch (e) {
    out(e instanceof TypeError ? "TypeError" : e.constructor.name + ": " + e.message);
  }
}
out("alive");
