"""`codx train lm` (HuatuoGPT-II one-stage recipe) on a tiny offline Llama: the unified format, priority
sampling, packing and masking, a CPU run that learns (full and LoRA), the saved folder, torchrun (DDP and FSDP
with gloo) and the command line."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from support.tiny_lm import make_tiny_lm

from codx.cli.main import cli
from codx.errors import CodxError, InputFileError
from codx.training import lm_dist
from codx.training.lm import LMTrainConfig, read_card, train_lm
from codx.training.lm_data import (
    IGNORE,
    KIND_PRIORITY,
    LMExample,
    apply_priorities,
    builtin_sources,
    dialogue_examples,
    instruction_example,
    load_sources,
    pack_examples,
    priority_order,
    read_hpo_definitions,
    text_example,
    tokenize_examples,
)
from codx.training.lm_pack import MARKER_PROMPT, format_example
from codx.training.lm_sources import DEFINITIONS, DIALOGUES, PASSAGES, QA

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

DIALOGUE = [
    {"role": "user", "content": "I have a fever"},
    {"role": "assistant", "content": "Do you also cough ?"},
    {"role": "user", "content": "yes since monday"},
    {"role": "assistant", "content": "a cough with fever is common in a chest infection"},
]


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny matrices on a busy 2-core machine: a second thread only waits for the first."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def small_examples() -> list[LMExample]:
    """A small, repeated vocabulary: text passages, instruction pairs and a dialogue."""
    out = []
    for i in range(6):
        out.append(
            text_example(f"fever {i} is a high body temperature and cough {i} is common", "notes", title=f"topic {i}")
        )
        out.append(instruction_example(f"what causes fever {i} ?", f"infection {i} causes fever {i} often", "qa"))
    return out + dialogue_examples(DIALOGUE, "talks")


def mixed(n_text: int, n_instruction: int) -> list[LMExample]:
    text = [LMExample(source="passages", kind="text", input=f"t{i}", output="x", priority=8.0) for i in range(n_text)]
    instr = [
        LMExample(source="qa", kind="instruction", input=f"q{i}", output="y", priority=1.0)
        for i in range(n_instruction)
    ]
    return text + instr


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    texts = [f"{e.input} {e.output}" for e in small_examples()]
    return make_tiny_lm(tmp_path_factory.mktemp("tiny-lm") / "tiny-llama", texts)


@pytest.fixture(scope="module")
def tokenizer(tiny_dir: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tiny_dir), local_files_only=True)


@pytest.fixture(scope="module")
def data_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rows: list[dict] = []
    for e in small_examples():
        if e.kind == "text":
            rows.append({"kind": "text", "text": e.output, "title": e.input.split(" of ")[-1].rstrip(".")})
        elif e.kind == "instruction":
            rows.append({"instruction": e.input, "output": e.output})
    rows.append({"messages": DIALOGUE, "source": "talks"})
    path = tmp_path_factory.mktemp("lm-data") / "tiny.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------ the unified format


def test_converters_make_input_output_pairs():
    titled = text_example("Fever is a high temperature.", "notes", title="fever")
    assert titled.kind == "text" and titled.input == "Write a short clinical overview of fever."
    assert titled.output == "Fever is a high temperature." and titled.priority == KIND_PRIORITY["text"]
    passage = "Fever is common in children and in adults. It has many causes. Most are infections. Few are serious."
    untitled = text_example(passage, "notes")
    assert untitled.input == "Continue this medical text:\nFever is common in children and in adults."
    assert untitled.output.startswith("It has many causes") and untitled.output.endswith("Few are serious.")
    pair = instruction_example("Summarise", "short", "qa", context="a long note")
    assert pair.input == "Summarise\n\na long note" and pair.kind == "instruction"

    (last,) = dialogue_examples(DIALOGUE, "talks")
    assert last.output == DIALOGUE[-1]["content"]
    assert last.input == "User: I have a fever\n\nAssistant: Do you also cough ?\n\nUser: yes since monday"
    each = dialogue_examples(DIALOGUE, "talks", each_turn=True)
    assert [e.output for e in each] == [DIALOGUE[1]["content"], DIALOGUE[3]["content"]]
    assert each[0].input == "User: I have a fever"
    with pytest.raises(ValueError):
        dialogue_examples([{"role": "user", "content": "hello"}], "talks")


def test_builtin_sources_are_written_from_the_common_pack_and_hpo():
    definitions = read_hpo_definitions()
    assert definitions["HP:0001945"].name == "Fever"
    assert definitions["HP:0001945"].definition == "Body temperature elevated above the normal range."
    examples = builtin_sources("common")
    by_source = {s: [e for e in examples if e.source == s] for s in (PASSAGES, DEFINITIONS, QA, DIALOGUES)}
    assert {s: {e.kind for e in v} for s, v in by_source.items()} == {
        PASSAGES: {"text"},
        DEFINITIONS: {"text"},
        QA: {"instruction"},
        DIALOGUES: {"dialogue"},
    }
    assert len(by_source[PASSAGES]) == len(by_source[DIALOGUES]) > 500  # one per condition
    assert len(by_source[DEFINITIONS]) > 300 and len(by_source[QA]) > 1000
    angina = next(e for e in by_source[PASSAGES] if "Stable angina." in e.input)
    assert "angina pectoris (about 95% of patients)" in angina.output and "ICD-10 I20.9" in angina.output
    symptoms = next(e for e in by_source[QA] if e.input == "What are the common symptoms of stable angina?")
    assert symptoms.output.index("angina pectoris") < symptoms.output.index("chest pain")
    assert any(e.input == "Which conditions can cause fever?" for e in by_source[QA])
    assert all(e.input.startswith("User: ") and "\n\nAssistant: " in e.input for e in by_source[DIALOGUES])
    assert builtin_sources("none") == [e for e in examples if e.source != DEFINITIONS]


def test_user_files_of_every_kind_and_their_errors(data_file: Path, tmp_path: Path):
    examples = load_sources([data_file], priorities={"tiny": 3.0})
    assert [e.kind for e in examples].count("text") == 6 and [e.kind for e in examples].count("dialogue") == 1
    assert {e.source for e in examples} == {"tiny", "talks"}
    assert {e.priority for e in examples if e.source == "tiny"} == {3.0}, "the config's priority of the file"
    assert {e.priority for e in examples if e.source == "talks"} == {KIND_PRIORITY["dialogue"]}
    unified = tmp_path / "unified.jsonl"
    unified.write_text(
        json.dumps({"kind": "instruction", "input": "q", "output": "a", "priority": 5}) + "\n", encoding="utf-8"
    )
    (e,) = load_sources([unified])
    assert (e.input, e.output, e.priority, e.source) == ("q", "a", 5.0, "unified")

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"kind": "text", "text": "fine words here"}\n{"kind": "instruction", "instruction": "x"}\n')
    with pytest.raises(InputFileError, match=r"bad.jsonl:2: .*output"):
        load_sources([bad])
    with pytest.raises(InputFileError, match="no such file"):
        load_sources([tmp_path / "missing.jsonl"])


# ------------------------------------------------------------------------------ priority sampling


def test_priority_sampling_puts_text_first_and_instructions_last():
    examples = mixed(200, 200)
    is_text = np.array([e.kind == "text" for e in examples])
    n = len(examples)
    mean_text, mean_instr, first_decile, last_decile = [], [], [], []
    for seed in range(40):
        order = priority_order(examples, np.random.default_rng(seed))
        assert sorted(order) == list(range(n)), "every example exactly once"
        position = np.empty(n)
        position[order] = np.arange(n)
        mean_text.append(position[is_text].mean())
        mean_instr.append(position[~is_text].mean())
        first_decile.append(is_text[order[: n // 10]].mean())
        last_decile.append(1 - is_text[order[-n // 10 :]].mean())
    assert np.mean(mean_text) < 0.6 * np.mean(mean_instr)
    assert all(t < i for t, i in zip(mean_text, mean_instr, strict=True))
    assert np.mean(first_decile) > 0.8, "the first decile is dominated by the high-priority source (~88 %)"
    assert np.mean(last_decile) > 0.95, "instruction data concentrates at the end"
    assert min(first_decile) > 0.6
    # deterministic for a seed, different across seeds
    assert priority_order(examples, np.random.default_rng(7)) == priority_order(examples, np.random.default_rng(7))
    assert priority_order(examples, np.random.default_rng(7)) != priority_order(examples, np.random.default_rng(8))


def test_priorities_are_a_config_per_source():
    examples = apply_priorities(mixed(100, 100), {"qa": 50.0})
    assert {e.priority for e in examples if e.source == "qa"} == {50.0}
    order = priority_order(examples, np.random.default_rng(0))
    position = {i: p for p, i in enumerate(order)}
    mean_instr = np.mean([position[i] for i, e in enumerate(examples) if e.kind == "instruction"])
    assert mean_instr < np.mean([position[i] for i, e in enumerate(examples) if e.kind == "text"])
    assert np.mean([examples[i].kind == "instruction" for i in order[:20]]) >= 0.7, "now instructions come first"
    with pytest.raises(InputFileError, match="positive"):
        apply_priorities(examples, {"qa": 0.0})


# ------------------------------------------------------------------------------ tokenising and packing


def test_chat_template_or_markers_and_labels_only_on_outputs(tokenizer):
    example = instruction_example("what causes fever 1 ?", "infection 1 causes fever 1 often", "qa")
    prompt, completion = format_example(tokenizer, example)
    assert prompt == "<|im_start|>user\nwhat causes fever 1 ?<|im_end|>\n<|im_start|>assistant\n"
    assert completion == "infection 1 causes fever 1 often<|im_end|>\n"
    (tok,) = tokenize_examples(tokenizer, [example])
    labels = tok.labels
    assert (labels[: tok.n_input] == IGNORE).all() and (labels[tok.n_input :] == tok.ids[tok.n_input :]).all()
    assert tokenizer.decode(tok.ids[tok.n_input :].tolist()).split() == ["infection", "1", "causes", "fever", "1"] + [
        "often",
        "<|im_end|>",
    ]

    template, tokenizer.chat_template = tokenizer.chat_template, None
    try:
        prompt, completion = format_example(tokenizer, example)
    finally:
        tokenizer.chat_template = template
    assert prompt == MARKER_PROMPT.format(input=example.input) and completion == example.output + "<|im_end|>"


@pytest.mark.parametrize("block_size", [7, 16, 64])
def test_packing_keeps_every_token_once_in_priority_order(tokenizer, block_size: int):
    examples = small_examples()
    tokenized = tokenize_examples(tokenizer, examples)
    order = priority_order(examples, np.random.default_rng(1))
    blocks = pack_examples(tokenized, order, block_size, tokenizer.pad_token_id)
    assert blocks.input_ids.shape == blocks.labels.shape == blocks.position_ids.shape == (len(blocks), block_size)
    total = sum(len(t.ids) for t in tokenized)
    assert len(blocks) == -(-total // block_size) and blocks.real_tokens == total
    real = blocks.example.reshape(-1) >= 0
    assert not real[total:].any() and real[:total].all(), "padding only at the very end"
    # the token stream is the examples in priority order, nothing lost or duplicated
    assert blocks.input_ids.reshape(-1)[:total].tolist() == [t for i in order for t in tokenized[i].ids.tolist()]
    assert blocks.labels.reshape(-1)[:total].tolist() == [t for i in order for t in tokenized[i].labels.tolist()]
    assert (blocks.labels.reshape(-1)[total:] == IGNORE).all()
    # position ids restart with each example and continue across a block boundary
    flat_pos, flat_ex = blocks.position_ids.reshape(-1)[:total], blocks.example.reshape(-1)[:total]
    for i in order:
        assert flat_pos[flat_ex == i].tolist() == list(range(len(tokenized[i].ids)))
    # every example starts with an input token: no target crosses from one example into the next
    starts = np.flatnonzero(np.diff(flat_ex, prepend=-2) != 0)
    assert (blocks.labels.reshape(-1)[starts] == IGNORE).all()
    unmasked = pack_examples(tokenized, order, block_size, tokenizer.pad_token_id, mask_examples=False)
    assert (unmasked.position_ids == np.arange(block_size)).all()
    assert (unmasked.input_ids == blocks.input_ids).all() and (unmasked.labels == blocks.labels).all()


def test_attention_stays_within_each_packed_example(tiny_dir: Path, tokenizer):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(tiny_dir), local_files_only=True).eval()
    tokenized = tokenize_examples(tokenizer, small_examples()[:3])
    total = sum(len(t.ids) for t in tokenized)
    blocks = pack_examples(tokenized, [0, 1, 2], total, tokenizer.pad_token_id)
    assert len(blocks) == 1
    ids, pos = torch.from_numpy(blocks.input_ids), torch.from_numpy(blocks.position_ids)
    with torch.no_grad():
        packed = model(input_ids=ids, position_ids=pos, use_cache=False).logits[0]
        alone = model(input_ids=torch.from_numpy(tokenized[2].ids)[None], use_cache=False).logits[0]
        crossing = model(input_ids=ids, use_cache=False).logits[0]
    third = slice(total - len(tokenized[2].ids), total)
    assert torch.allclose(packed[third], alone, atol=1e-5), "the third example sees only itself"
    assert not torch.allclose(crossing[third], alone, atol=1e-3), "without restarting positions it sees the others"


# ------------------------------------------------------------------------------ training and saving


def _config(tiny_dir: Path, mode: str, steps: int, **kw) -> LMTrainConfig:
    lr = 3e-3 if mode == "full" else 1e-2
    defaults = dict(block_size=32, batch_size=4, lr=lr, warmup=0.0, lora_rank=8, lora_alpha=16, lora_dropout=0.0)
    return LMTrainConfig(base=str(tiny_dir), steps=steps, mode=mode, **{**defaults, **kw})  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["full", "lora"])
def test_a_short_cpu_run_learns_saves_and_reloads(tiny_dir: Path, tmp_path: Path, mode: str):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    stages: list[str] = []
    result = train_lm(_config(tiny_dir, mode, 30), small_examples(), tmp_path / "out", lambda s, f: stages.append(s))
    metrics = result.card["metrics"]
    curve = metrics["loss_curve"]
    assert len(curve) == 30 and stages[-1] == "done"
    assert np.mean(curve[-5:]) < np.mean(curve[:5]) - 0.3, curve
    assert metrics["probe_after"] < metrics["probe_before"]

    folder = result.path
    assert (folder / "config.json").is_file() and (folder / "model.safetensors").is_file()
    assert (folder / ADAPTER).is_dir() == (mode == "lora")
    assert max(p.stat().st_mtime for p in folder.rglob("*") if p.is_file()) == (folder / "card.json").stat().st_mtime
    card = read_card(folder)
    assert card == result.card
    assert {"name", "task", "base", "recipe", "data", "parameters", "metrics", "license"} <= set(card)
    assert card["data"]["sources"]["notes"] == {"examples": 6, "kinds": {"text": 6}, "priorities": [8.0]}
    assert card["data"]["sources"]["talks"]["kinds"] == {"dialogue": 1}
    assert card["parameters"]["mode"] == mode and card["parameters"]["world_size"] == 1

    loaded = AutoModelForCausalLM.from_pretrained(str(folder), local_files_only=True).eval()
    assert not any("lora" in k for k in loaded.state_dict()), "LoRA is merged into the saved weights"
    tok = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    ids = torch.tensor([tok("what causes fever 3 ? infection 3 causes")["input_ids"]])
    result.model.eval()
    with torch.no_grad():
        assert torch.allclose(loaded(input_ids=ids).logits, result.model(input_ids=ids).logits, atol=1e-4)


ADAPTER = "adapter"


def test_settings_are_checked_before_anything_loads(tiny_dir: Path, tmp_path: Path, monkeypatch):
    with pytest.raises(CodxError, match="block_size"):
        train_lm(_config(tiny_dir, "full", 1, block_size=2), small_examples(), tmp_path / "x")
    with pytest.raises(CodxError, match="not a transformers model folder"):
        train_lm(LMTrainConfig(base=str(tmp_path), steps=1), small_examples(), tmp_path / "x")
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(CodxError, match="--parallel ddp or fsdp"):
        lm_dist.start("none")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.parametrize("parallel", ["ddp", "fsdp"])
def test_torchrun_two_ranks_on_gloo_train_like_one_process(
    tiny_dir: Path, data_file: Path, tmp_path: Path, parallel: str
):
    """Rank r takes blocks r, r+2, ...: two ranks of 2 blocks see what one process of 4 blocks sees, so the
    loss curves match; rank 0 alone writes the model and its card."""
    out = tmp_path / "out"
    args = ["--base", str(tiny_dir), "--no-builtin", "--data", str(data_file), "--steps", "4", "--block-size", "32"]
    args += ["--mode", "lora", "--lora-dropout", "0", "--lr", "1e-2", "--out", str(out), "--parallel", parallel]
    env = {**os.environ, "CODX_DATA_DIR": str(tmp_path / "data"), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(_free_port())]
    run = subprocess.run(
        [*cmd, "-m", "codx.cli.main", "train", "lm", *args, "--batch-size", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert run.stdout.count("saved ") == 1, "only rank 0 reports and saves"
    card = read_card(out)
    assert card["parameters"]["world_size"] == 2 and card["parameters"]["parallel_in_effect"] == parallel
    assert (out / "model.safetensors").is_file() and (out / ADAPTER).is_dir()
    assert not list(tmp_path.glob(".out.*")), "no temporary folder left behind"

    single = train_lm(
        LMTrainConfig(base=str(tiny_dir), steps=4, block_size=32, batch_size=4, mode="lora", lr=1e-2, lora_dropout=0.0),
        load_sources([data_file]),
        tmp_path / "single",
    )
    np.testing.assert_allclose(card["metrics"]["loss_curve"], single.card["metrics"]["loss_curve"], atol=2e-3)


def test_the_command_runs_end_to_end(tiny_dir: Path, data_file: Path, tmp_path: Path):
    runner = CliRunner()
    env = {"CODX_DATA_DIR": str(tmp_path / "data"), "OMP_NUM_THREADS": "1"}
    args = ["train", "lm", "--base", str(tiny_dir), "--steps", "3", "--block-size", "32", "--batch-size", "2"]
    result = runner.invoke(cli, [*args, "--data", str(data_file), "--no-builtin", "--mode", "full"], env=env)
    assert result.exit_code == 0, result.output
    assert "at the first step ->" in result.output and "at step 3" in result.output
    out = tmp_path / "data" / "models" / "lm" / "tiny-llama-medical"
    card = read_card(out)
    assert card["name"] == "tiny-llama-medical" and len(card["metrics"]["loss_curve"]) == 3

    result = runner.invoke(cli, [*args, "--hpo", "none", "--out", str(tmp_path / "builtin")], env=env)
    assert result.exit_code == 0, result.output
    sources = read_card(tmp_path / "builtin")["data"]["sources"]
    assert set(sources) == {PASSAGES, QA, DIALOGUES}
    shares = read_card(tmp_path / "builtin")["metrics"]["output_share_by_kind"]
    assert len(shares) == 3 and all(abs(sum(s.values()) - 1) < 0.01 for s in shares)

    missing = [*args[:2], "--base", str(tmp_path / "nope"), "--no-builtin", "--data", str(data_file)]
    result = runner.invoke(cli, missing, env=env)
    assert result.exit_code == 2 and "no such folder" in " ".join(result.output.split())
