"""`codx train asr` on a tiny corpus: targets, masking, a real (short) fine-tune, the saved model and card."""

from __future__ import annotations

import json
import shutil

import pytest
import whisper
from support.speech import needs_espeak

from codx.models.speech.transcribe import Transcriber, load_whisper
from codx.models.speech.weights import FINETUNED, checkpoint_path, default_speech_model
from codx.training.asr import AsrTrainConfig, _batch, encode_bottom, encode_top, target_tokens, train_asr


@pytest.fixture(scope="module")
def tokenizer():
    return whisper.tokenizer.get_tokenizer(True, language="en", task="transcribe")


def test_targets_in_both_timestamp_modes(tokenizer):
    plain = target_tokens(tokenizer, "take metformin", 2.0, timestamps=False)
    timed = target_tokens(tokenizer, "take metformin", 2.0, timestamps=True)
    prefix = list(tokenizer.sot_sequence)
    assert plain[: len(prefix)] == prefix and timed[: len(prefix)] == prefix
    assert plain[len(prefix)] == tokenizer.no_timestamps and plain[-1] == tokenizer.eot
    assert timed[len(prefix)] == tokenizer.timestamp_begin  # <|0.00|>
    assert timed[-2] == tokenizer.timestamp_begin + 100  # <|2.00|>: 20 ms steps
    assert tokenizer.decode([t for t in plain if t < tokenizer.eot]).strip() == "take metformin"


def test_only_the_spoken_words_and_the_end_are_learned(tokenizer):
    seqs = [target_tokens(tokenizer, "yes", 1.0, False), target_tokens(tokenizer, "no pain at all", 1.0, False)]
    inputs, targets = _batch(seqs, len(tokenizer.sot_sequence), tokenizer.eot)
    assert inputs.shape == targets.shape == (2, len(seqs[1]) - 1)
    prefix = len(tokenizer.sot_sequence)
    assert (targets[:, :prefix] == -100).all(), "language, task and mode are given, not learned"
    assert targets[0, len(seqs[0]) - 2] == tokenizer.eot and (targets[0, len(seqs[0]) - 1 :] == -100).all()
    assert (targets[1, prefix:] != -100).all()


def test_the_encoder_split_in_two_is_the_encoder(speech_models_dir):
    import torch

    model = load_whisper(speech_models_dir / "whisper" / "tiny.en.pt")
    mels = torch.randn(1, 80, 3000)
    with torch.inference_mode():
        whole = model.encoder(mels)
        for top in (0, 1, 2):
            assert torch.allclose(encode_top(model, encode_bottom(model, mels, top), top), whole, atol=1e-5)


@needs_espeak
@pytest.mark.slow
def test_a_tiny_fine_tune_saves_a_model_the_app_then_uses(speech_models_dir, tmp_path):
    models = tmp_path / "models"
    (models / "whisper").mkdir(parents=True)
    for name in ("base.pt", "base.json"):
        shutil.copy(speech_models_dir / "whisper" / name, models / "whisper" / name)
    assert default_speech_model(models) == "base"
    config = AsrTrainConfig(n_train=8, n_test=4, epochs=2, batch_size=4, lr=1e-4)
    result = train_asr(models, tmp_path / "data", config)
    assert result.path == checkpoint_path(models, FINETUNED) and result.path.exists()
    card = json.loads(result.path.with_suffix(".json").read_text())
    assert card["name"] == FINETUNED and card["parameters"]["n_train"] == 8
    assert len(card["metrics"]["loss_curve"]) == 4
    assert set(card["metrics"]["held_out_after"]) == {"wer", "term_wer", "n"}
    assert not set(card["data"]["train_voices"]) & set(card["data"]["held_out_voices"])
    assert default_speech_model(models) == FINETUNED, "the app prefers the fine-tuned model once it exists"
    tuned, base = load_whisper(result.path), load_whisper(models / "whisper" / "base.pt")
    changed = [n for n, p in tuned.state_dict().items() if not p.equal(base.state_dict()[n])]
    learned = ("decoder.blocks.", "decoder.ln.", "encoder.blocks.5.", "encoder.ln_post.")  # top encoder block
    assert changed and all(n.startswith(learned) for n in changed), changed
    assert any(n.startswith("encoder.blocks.5.") for n in changed)
    assert not any(".cross_attn.key." in n or ".cross_attn.value." in n for n in changed)
    assert list((tmp_path / "data" / "corpora" / "asr-medical").glob("hidden-base-top1-*-train.npy"))
    assert Transcriber.load(models, FINETUNED).name == FINETUNED
