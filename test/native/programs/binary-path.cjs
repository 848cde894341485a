// Prints the path of the addon binary the library loaded.
const { ln, out } = require("./prelude.cjs");

out(ln.systemInfo().binary);
