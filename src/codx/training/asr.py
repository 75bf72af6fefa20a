"""`codx train asr`: fine-tune Whisper base on the synthetic medical speech corpus.

Recipe (chosen for a 2-core CPU, and why):
- the encoder is frozen below its last block and run once per clip: the hidden states there are cached (on
  disk, beside the corpus), so a training step runs one encoder block and the decoder. The expensive part of
  Whisper is the encoder's 30 s window per clip; the top block lets the acoustics adapt to new voices, the
  decoder learns the words (drug and condition names);
- the token embedding (tied to the output layer), positions and cross-attention keys/values stay fixed; the
  rest of the decoder's blocks and its final norm learn, with a small learning rate and few epochs, so general
  speech is not forgotten;
- half of the targets carry Whisper's timestamp tokens (a clip is one segment from 0 to its length) and half
  `<|notimestamps|>`, so both ways Whisper decodes keep working;
- the held-out split (new sentences, new voices) is decoded before and after for the model card; it never
  trains.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import whisper

from codx.errors import CodxError
from codx.models.speech.audio import decode_audio
from codx.models.speech.transcribe import load_whisper
from codx.models.speech.weights import FINETUNED, checkpoint_path, ensure_whisper, read_manifest
from codx.models.speech.wer import ErrorCounts, count_errors
from codx.progress import Progress
from codx.training.asr_data import AsrCorpus, build_asr_corpus


@dataclass(frozen=True)
class AsrTrainConfig:
    base: str = "base"
    n_train: int = 600
    n_test: int = 120
    epochs: int = 5  # the encoder pass is done once per clip, so later epochs are cheap
    batch_size: int = 8
    lr: float = 5e-5  # 2 epochs at 2e-5 cut held-out term WER by 15-20 %; 5 at 5e-5 by 31 % (README)
    warmup: float = 0.1  # share of steps with a rising learning rate
    timestamp_share: float = 0.5
    encoder_blocks: int = 1  # top encoder blocks that learn (their input is cached); 0 freezes the encoder
    seed: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def corpus_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "corpora" / "asr-medical"


def multilingual_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "corpora" / "asr-multilingual"


def trained_corpus_config(models_dir: Path) -> AsrTrainConfig:
    """The corpus settings the fine-tuned model was trained with (its card), else the defaults: what
    `codx bench asr` must hold out to score that model fairly."""
    card = read_manifest(checkpoint_path(models_dir, FINETUNED)) or {}
    params = card.get("parameters", {})
    defaults = AsrTrainConfig()
    return AsrTrainConfig(
        n_train=int(params.get("n_train", defaults.n_train)),
        n_test=int(params.get("n_test", defaults.n_test)),
        seed=int(params.get("seed", defaults.seed)),
    )


def medical_corpus(
    data_dir: Path, config: AsrTrainConfig = AsrTrainConfig(), progress: Progress | None = None
) -> AsrCorpus:
    """The corpus `codx train asr` trains on (built once with a progress bar, then reused); its test split is
    the held-out set `codx bench asr` scores."""
    return build_asr_corpus(
        corpus_dir(data_dir), n_train=config.n_train, n_test=config.n_test, seed=config.seed, progress=progress
    )


# ------------------------------------------------------------------------------------------ training


@dataclass
class AsrTrainResult:
    path: Path
    card: dict


def encode_bottom(model, mels: torch.Tensor, top: int) -> torch.Tensor:
    """The encoder up to (not including) its last `top` blocks; `top=0` is the whole encoder."""
    enc = model.encoder
    x = F.gelu(enc.conv2(F.gelu(enc.conv1(mels)))).permute(0, 2, 1)
    x = (x + enc.positional_embedding).to(x.dtype)
    for block in enc.blocks[: len(enc.blocks) - top]:
        x = block(x)
    return enc.ln_post(x) if top == 0 else x


def encode_top(model, hidden: torch.Tensor, top: int) -> torch.Tensor:
    """The encoder's last `top` blocks and final norm on hidden states from `encode_bottom`."""
    if top == 0:
        return hidden
    enc = model.encoder
    for block in enc.blocks[len(enc.blocks) - top :]:
        hidden = block(hidden)
    return enc.ln_post(hidden)


def _digest(corpus: AsrCorpus, base_path: Path) -> str:
    """Names cached hidden states after the exact clips and base weights they came from."""
    manifest = read_manifest(base_path) or {}
    key = [manifest.get("source"), [(u.id, u.text, u.voice, u.speed, u.pitch, u.snr_db) for u in corpus.utterances]]
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:12]


def _hidden_states(
    model, corpus: AsrCorpus, utterances: list, top: int, cache: Path, progress: Progress | None, stage: str
) -> torch.Tensor:
    """Hidden states below the trained encoder blocks for every clip (float16, [n, 1500, d]), computed once
    and kept beside the corpus (`cache`), so later runs with the same corpus and base skip the encoder."""
    shape = (len(utterances), model.dims.n_audio_ctx, model.dims.n_audio_state)
    if cache.exists():
        cached = np.load(cache, mmap_mode="r")
        if cached.shape == shape:
            return torch.from_numpy(np.array(cached))  # a writable copy in memory
    out = torch.empty(shape, dtype=torch.float16)
    batch = 4
    with torch.inference_mode():
        for start in range(0, len(utterances), batch):
            chunk = utterances[start : start + batch]
            mels = torch.stack(
                [
                    whisper.log_mel_spectrogram(
                        whisper.pad_or_trim(torch.from_numpy(decode_audio(corpus.audio_path(u)).samples)),
                        model.dims.n_mels,
                    )
                    for u in chunk
                ]
            )
            out[start : start + len(chunk)] = encode_bottom(model, mels, top).to(torch.float16)
            if progress is not None:
                progress(stage, (start + len(chunk)) / len(utterances))
    tmp = cache.with_suffix(".partial.npy")
    np.save(tmp, out.numpy())
    tmp.replace(cache)
    return out


def target_tokens(tokenizer, text: str, duration_s: float, timestamps: bool) -> list[int]:
    """Whisper's training sequence for one clip: <|sot|><|en|><|transcribe|> then either <|notimestamps|> text
    or <|0.00|> text <|end|>, then <|endoftext|>."""
    words = tokenizer.encode(" " + text.strip())
    prefix = list(tokenizer.sot_sequence)
    if timestamps:
        end = min(round(duration_s / 0.02), 1500)
        return [*prefix, tokenizer.timestamp_begin, *words, tokenizer.timestamp_begin + end, tokenizer.eot]
    return [*prefix, tokenizer.no_timestamps, *words, tokenizer.eot]


def _batch(sequences: list[list[int]], prefix: int, pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and targets (-100 where no loss: the forced prefix and padding)."""
    width = max(len(s) for s in sequences) - 1
    inputs = torch.full((len(sequences), width), pad, dtype=torch.long)
    targets = torch.full((len(sequences), width), -100, dtype=torch.long)
    for i, s in enumerate(sequences):
        inputs[i, : len(s) - 1] = torch.tensor(s[:-1])
        targets[i, : len(s) - 1] = torch.tensor(s[1:])
        targets[i, :prefix] = -100  # language, task and timestamp mode are given, never predicted
    return inputs, targets


def evaluate(model, hidden: torch.Tensor, utterances: list, top: int, batch: int = 16) -> dict:
    """Greedy decoding from cached hidden states (no timestamps): corpus WER and medical-term WER."""
    total = ErrorCounts()
    options = whisper.DecodingOptions(language="en", without_timestamps=True, fp16=False, temperature=0.0)
    with torch.inference_mode():
        for start in range(0, len(utterances), batch):
            features = encode_top(model, hidden[start : start + batch].float(), top)
            results = whisper.decode(model, features, options)
            for u, r in zip(utterances[start : start + batch], results, strict=True):
                total.add(count_errors(u.text, r.text, u.terms))
    return {"wer": round(total.wer, 4), "term_wer": round(total.term_wer, 4), "n": len(utterances)}


def train_asr(
    models_dir: Path, data_dir: Path, config: AsrTrainConfig = AsrTrainConfig(), progress: Progress | None = None
) -> AsrTrainResult:
    """Fine-tune `config.base` on the medical corpus; save `codx-medical-base.pt` and its model card."""
    if config.base != "base":
        raise CodxError(f"the recipe fine-tunes the multilingual Whisper base; got {config.base!r}")
    started = time.time()
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    corpus = medical_corpus(data_dir, config, progress)
    train, test = corpus.split("train"), corpus.split("test")
    if not train:
        raise CodxError("the speech corpus has no training sentences; raise n_train")
    base_path = ensure_whisper(models_dir, config.base, progress)
    model = load_whisper(base_path)
    tokenizer = whisper.tokenizer.get_tokenizer(True, language="en", task="transcribe")
    top = config.encoder_blocks
    stem = f"hidden-{config.base}-top{top}-{_digest(corpus, base_path)}"
    train_x = _hidden_states(
        model, corpus, train, top, corpus.root / f"{stem}-train.npy", progress, "encoding training clips (once)"
    )
    test_x = (
        _hidden_states(
            model, corpus, test, top, corpus.root / f"{stem}-test.npy", progress, "encoding held-out clips (once)"
        )
        if test
        else None
    )
    before = evaluate(model, test_x, test, top) if test_x is not None else {}

    for p in model.parameters():
        p.requires_grad_(False)
    # cross-attention keys and values stay fixed: no gradient flows into the 1,500-frame projections, which
    # would triple a step's cost
    trainable = [
        p
        for name, p in [*model.decoder.blocks.named_parameters(), *model.decoder.ln.named_parameters()]
        if ".cross_attn.key." not in f".{name}" and ".cross_attn.value." not in f".{name}"
    ]
    if top:
        trainable += [*model.encoder.blocks[len(model.encoder.blocks) - top :].parameters()]
        trainable += [*model.encoder.ln_post.parameters()]
    for p in trainable:
        p.requires_grad_(True)
    optimizer = torch.optim.AdamW(trainable, lr=config.lr, weight_decay=0.01)
    steps_per_epoch = max(1, -(-len(train) // config.batch_size))
    total = steps_per_epoch * config.epochs
    warm = max(1, int(total * config.warmup))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm)))
    )
    prefix = len(tokenizer.sot_sequence)
    losses: list[float] = []
    model.train()
    step = 0
    for _ in range(config.epochs):
        order = rng.permutation(len(train))
        for start in range(0, len(order), config.batch_size):
            idx = order[start : start + config.batch_size]
            seqs = [
                target_tokens(
                    tokenizer, train[i].text, train[i].duration_s, bool(rng.random() < config.timestamp_share)
                )
                for i in idx
            ]
            inputs, targets = _batch(seqs, prefix, tokenizer.eot)
            features = encode_top(model, train_x[torch.as_tensor(idx)].float(), top)
            logits = model.decoder(inputs, features)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
            step += 1
            if progress is not None:
                progress(f"training the decoder (loss {np.mean(losses[-10:]):.3f})", step / total)
    model.eval()
    after = evaluate(model, test_x, test, top) if test_x is not None else {}

    out = checkpoint_path(models_dir, FINETUNED)
    tmp = out.with_suffix(".pt.partial")
    torch.save({"dims": asdict(model.dims), "model_state_dict": model.state_dict()}, tmp)
    tmp.replace(out)
    base_manifest = read_manifest(base_path) or {}
    card = {
        "format": base_manifest.get("format"),
        "name": FINETUNED,
        "task": "speech recognition (English medical speech; other languages as Whisper base)",
        "base": f"whisper {config.base} ({base_manifest.get('source', {}).get('packages')})",
        "recipe": f"codx train asr: encoder frozen below its top {top} block(s) (hidden states cached), those "
        "blocks and the decoder (but token embedding, positions, cross-attention keys/values) fine-tuned, AdamW, "
        "linear warm-up and decay, half the targets with timestamps",
        "data": {
            "corpus": "synthetic medical speech (codx training/asr_data.py): espeak-ng voices, speed, pitch, noise",
            "train_utterances": len(train),
            "held_out_utterances": len(test),
            "train_voices": sorted({u.voice for u in train}),
            "held_out_voices": sorted({u.voice for u in test}),
            "skipped": corpus.skipped,
        },
        "parameters": config.as_dict(),
        "metrics": {
            "held_out_before": before,
            "held_out_after": after,
            "loss_first": round(float(np.mean(losses[: min(10, len(losses))])), 4),
            "loss_last": round(float(np.mean(losses[-10:])), 4),
            "loss_curve": [round(x, 4) for x in losses],
            "decoding": "greedy, no timestamps, language given (en); codx bench asr measures full transcription",
        },
        "train_seconds": round(time.time() - started, 1),
        "torch_threads": torch.get_num_threads(),
        "license": "MIT (OpenAI Whisper weights); corpus generated by codx",
        "alignment_heads": base_manifest.get("alignment_heads", []),
    }
    out.with_suffix(".json").write_text(json.dumps(card, indent=2))
    return AsrTrainResult(path=out, card=card)
