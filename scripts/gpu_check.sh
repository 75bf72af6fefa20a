#!/usr/bin/env bash
# GPU device check for issue 8, in three parts, each writing what it measured to $OUT as it goes:
#  1. the `codx train lm` recipe (HuatuoGPT-II one-stage, LoRA on SmolLM2-135M-Instruct, built-in sources) with a
#     bigger batch on CUDA (bf16 autocast; torchrun with NCCL when there are several GPUs);
#  2. the Chain-of-Diagnosis fine-tune at GPU scale (`codx train synth-cod --finetune`, on COD_DIALOGUES when
#     given, else on newly simulated common-pack consultations) and `codx bench cod` on its held-out dialogues;
#  3. where vLLM is installed (an optional GPU extra), the tuned model served by vLLM and called through codx's
#     OpenAI-compatible client path (langchain-openai).
# Run from the repository root: bash scripts/gpu_check.sh. PYTHON defaults to the project's .venv when there is
# one, else python3 with codx's src/ on PYTHONPATH (a bare GPU machine whose python3 holds CUDA torch).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PYTHON:-}" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"; fi
fi
OUT=${OUT:-/tmp/codx-gpu-check}
mkdir -p "$OUT"
export CODX_DATA_DIR=${CODX_DATA_DIR:-/tmp/codx-gpu-check-data}  # models stay out of $OUT (too big to send back)
export PYTHONUNBUFFERED=1
codx() { "$PYTHON" -m codx.cli.main "$@"; }
if [ -n "${ALLOW_CPU:-}" ]; then  # checks the script itself on a machine without a GPU
  echo "no GPU: running on CPU" | tee "$OUT/gpu.txt"; GPUS=1
else
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
  GPUS=$(nvidia-smi -L | wc -l)
  "$PYTHON" -c "import torch; assert torch.cuda.is_available(), 'no CUDA in this torch build'"
fi
"$PYTHON" -c "import torch, transformers; \
print('torch', torch.__version__, 'cuda', torch.version.cuda, 'transformers', transformers.__version__)" | tee -a "$OUT/gpu.txt"

# 1. the recipe at a GPU batch size
codx models convert lm --name smollm2-135m-instruct
ARGS=(train lm --base smollm2-135m-instruct --mode lora --steps "${STEPS:-200}" --block-size "${BLOCK:-1024}" --batch-size "${BATCH:-16}"
      --name codx-gpu-check --out "$CODX_DATA_DIR/models/lm/codx-gpu-check")
if [ "$GPUS" -gt 1 ]; then
  "$PYTHON" -m torch.distributed.run --nproc_per_node "$GPUS" -m codx.cli.main "${ARGS[@]}" --parallel ddp 2>&1 | tee "$OUT/train.log"
else
  codx "${ARGS[@]}" 2>&1 | tee "$OUT/train.log"
fi
cp "$CODX_DATA_DIR/models/lm/codx-gpu-check/card.json" "$OUT/card.json"

# 2. Chain-of-Diagnosis phrasing at GPU scale
COD_FILE=${COD_DIALOGUES:-$CODX_DATA_DIR/corpora/cod-synth.jsonl}
if [ -n "${COD_DIALOGUES:-}" ]; then
  SOURCE=(--dialogues "$COD_FILE")
else
  SOURCE=(--pack common --n "${COD_N:-1000}" --out "$COD_FILE")
fi
codx train synth-cod "${SOURCE[@]}" --finetune --steps "${COD_STEPS:-600}" --batch-size "${BATCH:-16}" 2>&1 | tee "$OUT/cod_train.log"
cp "$CODX_DATA_DIR/models/lm/codx-cod-smollm2/card.json" "$OUT/cod_card.json"
codx bench cod --dialogues "$COD_FILE" --models codx-cod-smollm2 --limit "${COD_LIMIT:-10}" --out "$OUT/cod_bench.json" 2>&1 \
  | tee "$OUT/cod_bench.log"

# 3. serve the tuned model with vLLM when it is installed, and call it like the agent does
if "$PYTHON" -c "import vllm" 2>/dev/null; then
  "$PYTHON" -m vllm.entrypoints.openai.api_server --model "$CODX_DATA_DIR/models/lm/codx-gpu-check" \
      --served-model-name codx-gpu-check --port 8011 >"$OUT/vllm.log" 2>&1 &
  VLLM=$!
  trap 'kill $VLLM 2>/dev/null || true' EXIT
  for _ in $(seq 120); do curl -sf http://127.0.0.1:8011/v1/models >/dev/null && break; sleep 2; done
  "$PYTHON" - <<'PY' | tee "$OUT/vllm_client.txt"
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
