# node-gyp entry point. CMakeLists.txt is the one description of the build: this file only runs it,
# so `node-gyp rebuild` (node-gyp-build's install fallback, prebuildify) and `npm run build` produce
# the same build/Release/llama_native.node.
{
  "targets": [
    {
      "target_name": "llama_native",
      "type": "none",
      "actions": [
        {
          "action_name": "cmake_js_build",
          "inputs": ["CMakeLists.txt"],
          "outputs": ["build/Release/llama_native.node"],
          "action": ["node", "scripts/build.mjs"]
        }
      ]
    }
  ]
}
