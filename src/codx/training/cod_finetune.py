"""Fine-tune a small chat model (SmolLM2-135M-Instruct by default) to write the Chain of Diagnosis.

Why a separate step from `codx train lm`: the data are the synthetic dialogues of `cod_synth` (the diagnosis
model's own numbers in, the five-step chain out), and the block size should fit them: with packing and
attention kept within each example, a block at least as long as the longest example keeps most examples whole
in one block, so every step trains on complete chains. The recipe itself is `codx.training.lm.train_lm` (LoRA,
merged into the saved folder), so the result loads like any codx language model (`LocalLM.load`, CODX_LLM).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from codx.errors import CodxError
from codx.models.lm.convert import ensure_lm, lm_path
from codx.progress import Progress
from codx.training.cod_synth import CodDialogue, to_examples
from codx.training.lm import LMTrainConfig, LMTrainResult, train_lm
from codx.training.lm_data import LMExample, tokenize_examples

BASE = "smollm2-135m-instruct"
NAME = "codx-cod-smollm2"
STEPS = 300
TURNS_PER_DIALOGUE = 4
MAX_BLOCK = 1024


def _tokenizer(folder: Path) -> Any:
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    except Exception as e:  # noqa: BLE001 - any loading failure means an unusable folder
        raise CodxError(f"cannot load the tokenizer of {folder} ({e}); convert or download the base again") from e


def fit_block_size(tokenizer: Any, examples: Sequence[LMExample], multiple: int = 64, cap: int = MAX_BLOCK) -> int:
    """The longest example in tokens (chat format), rounded up to `multiple`, at most `cap`."""
    if not examples:
        raise CodxError("no examples to size a block for; synthesise dialogues first (codx train synth-cod)")
    longest = max(len(t.ids) for t in tokenize_examples(tokenizer, examples))
    return int(min(cap, -(-longest // multiple) * multiple))


def finetune_cod(
    dialogues: Sequence[CodDialogue],
    models_dir: Path,
    base: str = BASE,
    name: str = NAME,
    steps: int = STEPS,
    batch_size: int = 4,
    lr: float | None = None,
    turns_per_dialogue: int | None = TURNS_PER_DIALOGUE,
    block_size: int | None = None,
    seed: int = 0,
    progress: Progress | None = None,
) -> LMTrainResult:
    """LoRA fine-tune of `base` (a codx language model name or a transformers folder) on the dialogues' turns,
    saved to `models_dir/lm/<name>/`. Pass the training split only (`cod_synth.split_by_case`)."""
    held = [d.case_id for d in dialogues if d.split == "held_out"]
    if held:
        raise CodxError(
            f"{len(held)} held-out dialogues were passed for training (e.g. {held[0]}); pass the train split only"
        )
    examples = to_examples(dialogues, turns_per_dialogue=turns_per_dialogue)
    if not examples:
        raise CodxError("no training turns in the dialogues; synthesise more (codx train synth-cod --n N)")
    folder = Path(base).expanduser()
    base_dir = folder if folder.is_dir() else ensure_lm(models_dir, base, progress)
    if block_size is None:
        block_size = fit_block_size(_tokenizer(base_dir), examples)
    config = LMTrainConfig(
        base=str(base_dir),
        block_size=block_size,
        batch_size=batch_size,
        steps=steps,
        lr=lr,
        mode="lora",
        seed=seed,
        name=name,
    )
    return train_lm(config, examples, lm_path(models_dir, name), progress)


__all__ = ["BASE", "NAME", "finetune_cod", "fit_block_size"]
