#!/usr/bin/env bash
# GPU device check for issue 8: the same `codx train lm` recipe with a bigger batch on CUDA (bf16 autocast,
# NCCL under torchrun when there are several GPUs), then, where vLLM is installed, the tuned model served by
# vLLM and called through codx's OpenAI-compatible client path (langchain-openai). Prints what it measured
# and copies the model card to $OUT (the device tool's output folder) when set.
# Run from the repository root after `make setup` (or with the venv carried): bash scripts/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
OUT=${OUT:-/tmp/codx-gpu-check}
mkdir -p "$OUT"
export CODX_DATA_DIR=${CODX_DATA_DIR:-$OUT/data}
nvidia-smi --query-gpu=name,memory.total --format=csv | tee "$OUT/gpu.txt"
GPUS=$(nvidia-smi -L | wc -l)
"$BIN/python" -c "import torch; assert torch.cuda.is_available(), 'no CUDA in this torch build'; print(torch.__version__, torch.version.cuda)"

# 1. the recipe at a GPU batch size (LoRA on SmolLM2-135M-Instruct, built-in sources)
"$BIN/codx" models convert lm --name smollm2-135m-instruct
ARGS=(train lm --base smollm2-135m-instruct --mode lora --steps "${STEPS:-200}" --block-size 1024 --batch-size 16
      --name codx-gpu-check --out "$CODX_DATA_DIR/models/lm/codx-gpu-check")
if [ "$GPUS" -gt 1 ]; then
  "$BIN/torchrun" --nproc_per_node "$GPUS" -m codx.cli.main "${ARGS[@]}" --parallel ddp 2>&1 | tee "$OUT/train.log"
else
  "$BIN/codx" "${ARGS[@]}" 2>&1 | tee "$OUT/train.log"
fi
cp "$CODX_DATA_DIR/models/lm/codx-gpu-check/card.json" "$OUT/card.json"

# 2. serve the tuned model with vLLM when it is installed (an optional GPU extra), and call it like the agent does
if "$BIN/python" -c "import vllm" 2>/dev/null; then
  "$BIN/python" -m vllm.entrypoints.openai.api_server --model "$CODX_DATA_DIR/models/lm/codx-gpu-check" \
      --served-model-name codx-gpu-check --port 8011 >"$OUT/vllm.log" 2>&1 &
  VLLM=$!
  trap 'kill $VLLM 2>/dev/null || true' EXIT
  for _ in $(seq 120); do curl -sf http://127.0.0.1:8011/v1/models >/dev/null && break; sleep 2; done
  "$BIN/python" - <<'PY' | tee "$OUT/vllm_client.txt"
import time
from pathlib import Path
from codx.agent.chat_models import make_chat_model
chat = make_chat_model("openai:http://127.0.0.1:8011/v1#codx-gpu-check", Path("."))
start = time.time()
reply = chat.invoke("What are common symptoms of influenza?")
print(f"vLLM answered in {time.time() - start:.2f} s: {reply.content[:300]!r}")
print("streamed:", "".join(c.content for c in chat.stream("Name one symptom of migraine.")))
PY
else
  echo "vLLM is not installed here: the serving half was skipped (pip install vllm on a GPU machine)" | tee "$OUT/vllm_client.txt"
fi
