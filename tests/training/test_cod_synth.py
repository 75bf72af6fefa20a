"""Chain-of-Diagnosis synthesis on the clinic pack: the texts carry the diagnosis model's own numbers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from support.clinic import save_clinic
from support.tiny_lm import make_tiny_lm

from codx.bench.cod import phrased_question, pick_bench_turns, run_cod_bench, score_text, threshold_claim_ok
from codx.errors import CodxError, InputFileError
from codx.models.diagnosis.evidence import CaseEvidence, Observation
from codx.models.diagnosis.inquiry import StopRule, rank_questions
from codx.models.diagnosis.model import DiagnosisModel, ModelCard
from codx.models.diagnosis.params import DiagnosisParams
from codx.models.language.number_check import check_numbers, names_finding
from codx.models.lm.generate import LMResult
from codx.training.cod_finetune import finetune_cod, fit_block_size
from codx.training.cod_synth import (
    STEP_TITLES,
    CodDialogue,
    find_steps,
    pick_turns,
    read_dialogues,
    render_input,
    split_by_case,
    synthesize_cod,
    to_examples,
    turn_truth,
    write_dialogues,
)

RULE = StopRule(tau=0.8, max_questions=6, min_gain=0.01)


@pytest.fixture(scope="module")
def model() -> DiagnosisModel:
    from support.clinic import clinic_pack

    params = DiagnosisParams(eps=0.02, delta=0.2, related_weight=0.0)
    return DiagnosisModel([clinic_pack()], ModelCard(name="clinic", packs=[], params=params, training_data="test"))


@pytest.fixture(scope="module")
def dialogues(model: DiagnosisModel) -> list[CodDialogue]:
    return synthesize_cod(model, 40, seed=3, rule=RULE)


def _turns(dialogues: list[CodDialogue]):
    return [(d, t) for d in dialogues for t in d.turns]


def test_numbers_equal_the_models_posterior_recomputed_independently(model, dialogues):
    kn = model.knowledge
    long = max(dialogues, key=lambda d: len(d.turns))
    assert len(long.turns) >= 3
    for turn in (long.turns[0], long.turns[len(long.turns) // 2]):
        evidence = CaseEvidence(observations=[Observation(finding=f.id, status=f.status) for f in turn.findings])
        ev = model.normalise(evidence)
        ranking = model.rank(ev)
        expected = [(kn.disease_ids[i], float(ranking.probabilities[i])) for i in ranking.order[:3]]
        assert [c.id for c in turn.candidates] == [d for d, _ in expected]
        for c, (_, p) in zip(turn.candidates, expected, strict=True):
            assert c.probability == pytest.approx(p, abs=1e-6)
            assert c.shown == f"{p:.1%}" and f"{c.label} {c.shown}" in turn.text
        assert turn.top_probability == pytest.approx(expected[0][1], abs=1e-6)
        if turn.decision == "ask":  # the question the agent asks: best lay-askable single finding by EIG
            qs = [q for q in rank_questions(kn, ev, ranking, askable=kn.lay_askable) if q.finding >= 0]
            assert turn.question is not None and turn.question.finding == kn.finding_ids[qs[0].finding]
            assert turn.question.gain == round(qs[0].gain, 4)
            assert f"({qs[0].gain:.2f} bits)" in turn.text
            assert expected[0][1] < RULE.tau


def test_the_patient_answers_from_its_sampled_findings_until_the_rule_says_diagnose(dialogues):
    for d in dialogues:
        for before, after in zip(d.turns, d.turns[1:], strict=False):
            assert before.decision == "ask" and before.question and before.answer
            assert after.findings[-1].id == before.question.finding and after.findings[-1].status == before.answer
            assert len(after.findings) == len(before.findings) + 1
        last = d.turns[-1]
        assert last.decision == "diagnose" and last.question is None
        assert (last.reason == "confident") == (last.top_probability >= RULE.tau)
        assert len(d.turns) <= RULE.max_questions + 1
    assert {t.reason for _, t in _turns(dialogues)} >= {"asking", "confident"}
    assert any(t.answer == "present" for _, t in _turns(dialogues))
    assert any(t.answer == "absent" for _, t in _turns(dialogues))


def test_every_text_has_the_five_steps_and_passes_the_number_check(dialogues):
    for d, t in _turns(dialogues):
        steps = find_steps(t.text)
        assert sorted(steps) == [1, 2, 3, 4, 5]
        for i, title in enumerate(STEP_TITLES, 1):
            assert f"{i}. {title}: " in t.text
        truth, gains = turn_truth(t, d.tau)
        check = check_numbers(t.text, truth, gains=gains)
        assert check.ok, check.summary()
        assert check.checked >= len(t.candidates) + 1
        if t.decision == "ask":
            assert t.question is not None
            question = phrased_question(t.text)
            assert question and names_finding(question, [t.question.lay_label])
            assert "below the threshold of 80%" in steps[5]
        else:
            assert "?" not in steps[5]


def test_a_wrong_number_in_a_text_is_caught(dialogues):
    d, t = next((d, t) for d, t in _turns(dialogues) if len(t.candidates) >= 2)
    truth, gains = turn_truth(t, d.tau)
    a, b = t.candidates[0], t.candidates[1]
    swapped = t.text.replace(f"{a.label} {a.shown}", f"{a.label} {b.shown}", 1)
    assert swapped != t.text and not check_numbers(swapped, truth, gains=gains).ok


def test_synthesis_is_deterministic_for_a_seed(model, dialogues):
    again = synthesize_cod(model, 40, seed=3, rule=RULE)
    assert [d.model_dump() for d in again] == [d.model_dump() for d in dialogues]


def test_split_is_by_case_and_examples_keep_numbers_in_the_input(dialogues):
    train, held = split_by_case(dialogues, held_out=0.25, seed=1)
    assert len(held) == 10 and len(train) == 30
    assert not {d.case_id for d in train} & {d.case_id for d in held}
    assert {d.split for d in train} == {"train"} and {d.split for d in held} == {"held_out"}
    assert split_by_case(dialogues, 0.25, 1)[1] == held  # the same split for the same seed
    doubled = dialogues + [dialogues[0].model_copy()]  # two dialogues of one case stay together
    tr, he = split_by_case(doubled, 0.25, 1)
    assert sum(d.case_id == dialogues[0].case_id for d in tr + he) == 2
    assert len({d.split for d in tr + he if d.case_id == dialogues[0].case_id}) == 1

    examples = to_examples(train)
    assert len(examples) == sum(len(d.turns) for d in train)
    for e, (d, t) in zip(examples, _turns(train), strict=True):
        assert e.kind == "instruction" and e.source == "cod-synth" and e.output == t.text
        assert e.input == render_input(t, d.tau)
        for c in t.candidates:
            assert f"{c.label} {c.shown}" in e.input  # every number of the output is given in the input
        if t.question:
            assert f"gain {t.question.gain:.2f} bits" in e.input
    assert len(to_examples(train, turns_per_dialogue=1)) == len(train)


def test_pick_turns_keeps_first_and_last():
    turns = list(range(21))
    assert pick_turns(turns, 4) == [0, 7, 13, 20]
    assert pick_turns(turns, None) == turns and pick_turns(turns[:3], 4) == [0, 1, 2]
    assert pick_turns(turns, 1) == [20]


def test_dialogues_round_trip_through_jsonl(dialogues, tmp_path: Path):
    path = write_dialogues(tmp_path / "cod.jsonl", dialogues[:5])
    assert read_dialogues(path) == dialogues[:5]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"case_id": 1}\n')
    with pytest.raises(InputFileError, match="bad.jsonl:1"):
        read_dialogues(bad)
    with pytest.raises(InputFileError, match="synth-cod"):
        read_dialogues(tmp_path / "missing.jsonl")


# ---------------------------------------------------------------------------------------------- bench


class FakeLM:
    """Answers with the reference text of the turn whose input it is given, or a corrupted one."""

    def __init__(self, by_input: dict[str, str]):
        self.by_input = by_input

    def chat(self, messages, max_new_tokens=256, temperature=0.0):
        text = self.by_input[messages[-1]["content"]]
        return LMResult(text=text, prompt_tokens=100, completion_tokens=50, seconds=0.5)


def test_bench_scores_reference_texts_perfectly_and_catches_a_bad_model(dialogues, monkeypatch, tmp_path):
    import codx.bench.cod as bench

    _, held = split_by_case(dialogues, held_out=0.5, seed=0)
    good = {render_input(t, d.tau): t.text for d, t in _turns(held)}
    bad = {}
    for d, t in _turns(held):
        c = t.candidates[0]
        text = t.text.replace(f"{c.label} {c.shown}", f"{c.label} 99.9%")
        bad[render_input(t, d.tau)] = text.replace(t.question.question, "How are you?") if t.question else text
    models = {"good": FakeLM(good), "bad": FakeLM(bad)}
    monkeypatch.setattr(bench, "resolve_lm", lambda models_dir, spec, progress=None: spec)
    monkeypatch.setattr(bench.LocalLM, "load", staticmethod(lambda path: models[str(path)]))
    summary, cases = run_cod_bench(tmp_path, held, ["good", "bad"], limit=10)
    ref, g, b = (summary["models"][k] for k in ("reference", "good", "bad"))
    assert ref["numbers_ok_rate"] == g["numbers_ok_rate"] == 1.0 and ref["five_steps_rate"] == 1.0
    assert ref["findings_named_rate"] == ref["threshold_claim_ok_rate"] == 1.0
    assert ref["step_equals_reference_rate"] == [1.0] * 5 and ref["threshold_claims"] == ref["turns"]
    assert g["names_finding_rate"] == 1.0 and g["tokens_per_s"] == 100.0
    assert b["numbers_ok_rate"] == 0.0 and b["names_finding_rate"] == 0.0
    assert len(cases) == 3 * g["turns"] and {"text", "number_problems", "names_finding"} <= set(cases[-1])
    json.dumps({"summary": summary, "cases": cases})  # the report is plain JSON
    with pytest.raises(CodxError, match="held-out"):
        run_cod_bench(tmp_path, [d.model_copy(update={"split": "train"}) for d in held], ["good"])


def test_bench_catches_a_threshold_claim_that_contradicts_the_numbers(dialogues):
    d, t = next((d, t) for d, t in _turns(dialogues) if t.decision == "ask")
    assert threshold_claim_ok(t.text, d, t) is True
    flipped = t.text.replace("below the threshold", "at or above the threshold")
    scored = score_text(flipped, d, t)
    assert scored["numbers_ok"] and scored["threshold_claim_ok"] is False  # every number right, the claim wrong
    assert threshold_claim_ok("No threshold is mentioned.", d, t) is None
    dropped = t.text.replace(t.findings[0].label.lower(), "something")
    assert not score_text(dropped, d, t)["findings_named"]


def test_bench_picks_one_asking_turn_per_dialogue(dialogues):
    _, held = split_by_case(dialogues, held_out=0.5, seed=0)
    picked = pick_bench_turns(held, 5, seed=0)
    assert len(picked) == 5
    for d, t in picked:
        assert t.decision == "ask" or len(d.turns) == 1
        assert score_text(t.text, d, t)["numbers_ok"]


# ---------------------------------------------------------------------------------------------- fine-tune


def test_finetune_runs_on_a_tiny_model_with_a_fitting_block(dialogues, tmp_path: Path):
    from transformers import AutoTokenizer

    train, held = split_by_case(dialogues, held_out=0.2, seed=0)
    examples = to_examples(train, turns_per_dialogue=2)
    base = make_tiny_lm(tmp_path / "tiny", [f"{e.input} {e.output}" for e in examples])
    block = fit_block_size(AutoTokenizer.from_pretrained(str(base), local_files_only=True), examples)
    assert block % 64 == 0 and block <= 1024
    result = finetune_cod(
        train, tmp_path / "models", base=str(base), name="cod-tiny", steps=2, batch_size=1, turns_per_dialogue=2
    )
    assert result.path == tmp_path / "models" / "lm" / "cod-tiny" and (result.path / "card.json").is_file()
    assert result.card["parameters"]["block_size"] == block and result.card["parameters"]["mode"] == "lora"
    assert result.card["data"]["sources"]["cod-synth"]["examples"] == len(examples)
    with pytest.raises(CodxError, match="held-out"):
        finetune_cod(held, tmp_path / "models", base=str(base), steps=1)


def test_the_command_writes_dialogues(tmp_path: Path):
    from codx.cli.main import cli

    data = save_clinic(tmp_path / "data")
    out = tmp_path / "cod.jsonl"
    env = {"CODX_DATA_DIR": str(data), "CODX_TAU": "0.8", "CODX_MAX_QUESTIONS": "5"}
    args = ["train", "synth-cod", "--pack", "clinic", "--n", "12", "--out", str(out), "--held-out", "0.25"]
    result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    loaded = read_dialogues(out)
    assert len(loaded) == 12 and sum(d.split == "held_out" for d in loaded) == 3
    assert all(d.tau == 0.8 and d.max_questions == 5 and d.packs == ["clinic"] for d in loaded)
    assert np.all([len(d.turns) <= 6 for d in loaded])
    assert "12 dialogues (9 train, 3 held out)" in result.output

    # written dialogues are reused for fine-tuning (their train split), as the GPU check does
    reuse = ["train", "synth-cod", "--dialogues", str(out)]
    refused = CliRunner().invoke(cli, reuse, env=env)
    assert refused.exit_code == 2 and "add --finetune" in refused.output
    examples = to_examples([d for d in loaded if d.split == "train"], turns_per_dialogue=1)
    base = make_tiny_lm(tmp_path / "tiny", [f"{e.input} {e.output}" for e in examples])
    args = [*reuse, "--finetune", "--base", str(base), "--name", "cod-reused", "--steps", "1", "--batch-size", "1"]
    tuned = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    assert tuned.exit_code == 0, tuned.output
    assert "9 train dialogues" in tuned.output and (data / "models" / "lm" / "cod-reused" / "card.json").is_file()
