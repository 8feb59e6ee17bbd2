#!/bin/sh
# The webgpu backend's figures on this machine, in under 5 minutes, downloading nothing (run it
# from a checkout whose npm packages are already cached: `deno task check` once fetches them).
# Prints the adapter (webgpu_adapter) and VAE/RNN training throughput as JSON lines
# (webgpu_vae_train_images_per_s, webgpu_vae_encode_images_per_s,
# webgpu_rnn_train_timesteps_per_s). On a software adapter such as llvmpipe it uses small sizes.
#
#   bench/gpu.sh              # sizes for a GPU: VAE batch 100, RNN 32 x 300
#   bench/gpu.sh --small      # VAE batch 2, RNN 32 x 10, one timed step (software adapters)
set -eu
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--small" ]; then
  set -- --batch 2 --seq 10 --iters 1
fi
exec timeout 290 deno run -A --no-prompt --cached-only bench/webgpu.ts "$@"
