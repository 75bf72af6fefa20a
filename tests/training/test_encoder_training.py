"""`codx train encoder` on the clinic pack: pairs without held-out words, a tiny run that learns, saves and
reloads, and clear errors for a missing or broken folder."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
import torch
from support.clinic import DISEASES, clinic_pack

from codx.bench.understanding import lay_heldout_cases
from codx.bootstrap import english_encoder
from codx.errors import EncoderError
from codx.models.diagnosis.knowledge import Knowledge
from codx.models.diagnosis.params import DiagnosisParams
from codx.models.language.encoder import MINILM_NAME, MiniLMEncoder
from codx.models.language.extract import MIN_SCORE
from codx.models.language.matcher import phrase_key
from codx.models.language.trained import (
    TRAINED_NAME,
    TrainedEncoder,
    base_name,
    load_trained_encoder,
    trained_dir,
)
from codx.models.packs.schema import Annotation, Disease, Pack, PackMeta
from codx.settings import Settings
from codx.training.encoder import train_encoder
from codx.training.encoder_loop import (
    Batches,
    EncoderTrainConfig,
    bf16_native,
    contrastive_loss,
    load_embedder,
    resolve_device,
    step_loss,
)
from codx.training.encoder_pairs import collect_pairs, split_pairs
from codx.training.encoder_report import suggest_threshold

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

SYNONYMS = {
    "C:fever": ["Pyrexia", "Elevated body temperature"],
    "C:cough": ["Coughing"],
    "C:headache": ["Cephalalgia", "Head pain"],
    "C:rhinorrhea": ["Nasal discharge", "Runny nose"],  # "Runny nose" is also a held-out lay word
    "C:sore_throat": ["Pharyngitis symptoms"],
    "C:myalgia": ["Muscle pain"],
    "C:photophobia": ["Sensitivity to light"],
    "C:nausea": ["Queasiness"],
    "C:sneezing": ["Sternutation"],
}


def clinic_with_synonyms() -> Pack:
    """The clinic pack with clinical synonyms: pairs to learn from besides its (held-out) lay words."""
    findings = [f.model_copy(update={"synonyms": SYNONYMS.get(f.id, [])}) for f in clinic_pack().findings]
    diseases = [Disease(id=did, name=name) for did, (name, _) in DISEASES.items()]
    anns = [Annotation(disease=did, finding=f, frequency=p) for did, (_, fs) in DISEASES.items() for f, p in fs.items()]
    return Pack.from_records(PackMeta(name="clinic", version="test"), diseases, findings, anns)


@pytest.fixture(scope="module")
def heldout_kn() -> Knowledge:
    return Knowledge([clinic_pack()], DiagnosisParams(related_weight=0.0))


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, heldout_kn: Knowledge) -> dict:
    data_dir = tmp_path_factory.mktemp("data")
    cfg = EncoderTrainConfig(steps=8, batch_size=8, lr=1e-4, max_length=16, dev_size=2, seed=0)
    events: list[tuple[str, float]] = []
    manifest = train_encoder(
        [clinic_with_synonyms()],
        heldout_kn,
        trained_dir(data_dir),
        cfg,
        cache_dir=data_dir / "indexes",
        progress=lambda message, fraction: events.append((message, fraction)),
    )
    return {"data_dir": data_dir, "manifest": manifest, "events": events}


def test_held_out_phrases_never_reach_training(heldout_kn):
    held = [lay for _, lay in lay_heldout_cases(heldout_kn)]
    assert "Runny nose" in held and "High temperature" in held
    all_pairs, _ = collect_pairs([clinic_with_synonyms()])
    pairs = split_pairs([clinic_with_synonyms()], held, dev_size=2)
    keys = {phrase_key(p) for p in held}
    seen = [phrase_key(t) for p in pairs.train + pairs.dev for t in (p.phrase, p.label)]
    assert not keys & set(seen)
    assert pairs.excluded_heldout == sum(phrase_key(p.phrase) in keys or phrase_key(p.label) in keys for p in all_pairs)
    assert pairs.excluded_heldout >= len(keys)  # every held-out lay word was a pair of the raw pack
    dev_keys = {phrase_key(p.phrase) for p in pairs.dev}
    assert len(pairs.dev) == 2 and not dev_keys & {phrase_key(p.phrase) for p in pairs.train}


def test_same_finding_rows_are_not_negatives():
    q = torch.nn.functional.normalize(torch.randn(4, 8), dim=1)
    twin = torch.tensor([0, 0, 1, 2])
    other = torch.tensor([0, 1, 2, 3])
    p = q.clone()
    p[1] = p[0]  # two pairs of one finding share the label
    assert float(contrastive_loss(q, p, None, twin, None, 20.0)) < float(
        contrastive_loss(q, p, None, other, None, 20.0)
    )
    neg = torch.nn.functional.normalize(torch.randn(4, 8), dim=1)
    assert torch.isfinite(contrastive_loss(q, p, neg, twin, torch.tensor([5, 6, 7, 8]), 20.0))


@pytest.mark.parametrize("k", [0, 1, 3])
def test_each_pair_gets_k_hard_negatives_of_other_findings(k):
    pairs = split_pairs([clinic_with_synonyms()], [], dev_size=2)
    batch, negs = Batches(pairs, EncoderTrainConfig(batch_size=4, hard_negatives=k)).next()
    if k == 0:
        assert negs is None
        return
    assert negs is not None and len(negs) == k * len(batch)
    for i, p in enumerate(batch):
        mine = negs[i * k : (i + 1) * k]
        assert all(fid != p.finding and text == pairs.labels[fid] for fid, text in mine)


def test_losses_read_in_groups_are_all_kept(monkeypatch):
    """On a GPU the losses are read back every few steps; none may be lost, the last step included."""
    import codx.training.encoder_loop as loop

    monkeypatch.setattr(loop, "CPU_LOSS_READS", 3)
    pairs = split_pairs([clinic_with_synonyms()], [], dev_size=2)
    cfg = EncoderTrainConfig(steps=8, batch_size=4, max_length=16)
    seen: list[str] = []
    log = loop.train_loop(load_embedder(cfg.max_length), pairs, cfg, lambda message, fraction: seen.append(message))
    assert len(log.losses) == 8 and all(np.isfinite(log.losses))
    assert [m.split(",")[0] for m in seen] == ["step 3/8", "step 6/8", "step 8/8"]


def test_the_batch_follows_the_device_unless_given():
    cfg = EncoderTrainConfig()
    assert cfg.on_device(torch.device("cpu")).batch_size == 64
    assert cfg.on_device(torch.device("cuda")).batch_size == 256  # a GPU step costs the same for 4x the pairs
    assert EncoderTrainConfig(batch_size=32).on_device(torch.device("cuda")).batch_size == 32
    with pytest.raises(EncoderError, match="on_device"):
        Batches(split_pairs([clinic_with_synonyms()], [], dev_size=2), cfg)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without a GPU")
def test_asking_for_a_gpu_that_is_not_there_says_what_to_use():
    assert resolve_device("auto").type == "cpu"
    with pytest.raises(EncoderError, match="--device cpu"):
        resolve_device("cuda")


def test_tiny_run_learns_saves_and_reloads(run):
    m, folder = run["manifest"], trained_dir(run["data_dir"])
    assert m["metrics"]["loss"]["probe_after"] < m["metrics"]["loss"]["probe_before"]
    assert m["data"]["excluded_heldout_pairs"] > 0 and m["data"]["pairs_train"] > 0
    assert m["metrics"]["lay_heldout_after"]["n"] == m["metrics"]["lay_heldout_before"]["n"] > 0
    card = (folder / "MODEL_CARD.md").read_text()
    assert "Held out" in card and "never saw them" in card
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no temp folders left
    enc = load_trained_encoder(run["data_dir"])
    assert isinstance(enc, TrainedEncoder)
    assert enc.name == f"{TRAINED_NAME}@{m['fingerprint'][:8]}" and base_name(enc.name) in MIN_SCORE
    v = enc.encode(["my head hurts", "runny nose"])
    assert v.shape == (2, 384) and np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(v, MiniLMEncoder().encode(["my head hurts", "runny nose"]), atol=1e-4)  # it changed
    fractions = [f for _, f in run["events"]]
    assert fractions[-1] == 1.0 and any("training: step 8/8" in msg for msg, _ in run["events"])


def test_card_says_whether_bf16_ran(run):
    assert run["manifest"]["parameters"]["bf16_used"] == bf16_native()


@pytest.mark.skipif(not bf16_native(), reason="this CPU has no native bfloat16 (training uses float32 there)")
def test_bf16_steps_give_a_float32_loss_close_to_float32():
    pairs = split_pairs([clinic_with_synonyms()], [], dev_size=2)
    cfg = EncoderTrainConfig(batch_size=8, max_length=16)
    model, batches = load_embedder(cfg.max_length).eval(), Batches(pairs, cfg)
    batch = pairs.train[:8]
    with torch.inference_mode():
        full = step_loss(model, batches, batch, None, cfg.scale)
        half = step_loss(model, batches, batch, None, cfg.scale, bf16=True)
    assert half.dtype == torch.float32 and float(half) != float(full)  # it did run in bfloat16
    assert abs(float(half) - float(full)) < 0.05 * float(full)


def test_missing_folder_means_no_trained_encoder(tmp_path):
    assert load_trained_encoder(tmp_path) is None
    assert english_encoder(Settings(data_dir=tmp_path)).name == MINILM_NAME


def test_broken_folders_say_what_to_run(run, tmp_path):
    folder = trained_dir(tmp_path)
    shutil.copytree(trained_dir(run["data_dir"]), folder)
    (folder / "model.safetensors").write_bytes(b"not weights")
    with pytest.raises(EncoderError, match="codx train encoder"):
        load_trained_encoder(tmp_path)
    assert english_encoder(Settings(data_dir=tmp_path)).name == MINILM_NAME  # consultations go on
    (folder / "tokenizer.json").unlink()
    with pytest.raises(EncoderError, match="incomplete.*tokenizer.json"):
        TrainedEncoder(folder)


def test_training_without_pairs_says_which_packs(heldout_kn, tmp_path):
    with pytest.raises(EncoderError, match="training pairs"):
        train_encoder([clinic_pack()], heldout_kn, tmp_path / "enc", EncoderTrainConfig(steps=1, batch_size=2))
    assert not (tmp_path / "enc").exists()


def test_suggested_threshold_keeps_minilms_right_answers():
    def rows(accepted: list[float], correct: list[float]) -> list[dict[str, float]]:
        return [
            {"threshold": t, "lay_accepted": a, "lay_accepted_correct": c, "controls_accepted": 0.0}
            for t, a, c in zip([0.6, 0.65, 0.7, 0.75, 0.8], accepted, correct, strict=True)
        ]

    before = rows([1.0, 0.9, 0.8, 0.7, 0.6], [0.3, 0.3, 0.3, 0.3, 0.3])  # 0.24 right at MiniLM's 0.7
    after = rows([1.0, 0.9, 0.8, 0.6, 0.4], [0.4, 0.4, 0.4, 0.45, 0.55])  # 0.27 at 0.75, 0.22 at 0.8
    assert suggest_threshold(after, before) == 0.75
