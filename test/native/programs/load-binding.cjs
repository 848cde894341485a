// Loads the addon (systemInfo() needs it) and prints "loaded", or the error as name|code|message.
// No prelude: the require is what is tried.
const path = require("node:path");

try {
  require(path.resolve(__dirname, "..", "..", "..", "dist", "index.js")).systemInfo();
  console.log("loaded");
} catch (e) {
  console.log(e.name + "|" + e.code + "|" + e.message);
}
