"""`codx transcribe` and `codx train asr`: speech on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import click

from codx.settings import Settings


@click.command("transcribe")
@click.argument("audio", type=click.Path(path_type=Path))
@click.option("--model", "model_name", default=None, help="base, tiny.en or codx-medical-base [default: best present].")
@click.option("--language", default=None, help="Language code (en, zh, es, fr, ar, hi) [default: detect].")
@click.option("--json", "as_json", is_flag=True, help="Print the whole transcript (segments, confidence) as JSON.")
@click.pass_obj
def transcribe(settings: Settings, audio: Path, model_name: str | None, language: str | None, as_json: bool) -> None:
    """Speech to text: WAV, FLAC, OGG, MP3 or AIFF, up to 10 minutes."""
    from codx.cli.main import progress_bar
    from codx.models.speech.audio import decode_audio
    from codx.models.speech.transcribe import Transcriber
    from codx.models.speech.weights import default_speech_model

    decoded = decode_audio(audio)
    name = model_name or default_speech_model(settings.models_dir)
    with progress_bar(f"loading {name}") as progress:
        transcriber = Transcriber.load(settings.models_dir, name, progress)
    result = transcriber.transcribe(decoded, language=language)
    if as_json:
        click.echo(json.dumps(result.model_dump(), ensure_ascii=False, indent=2))
    else:
        click.echo(result.text)
        click.echo(
            f"[{result.language}, confidence {result.confidence:.2f}, {result.duration_s:.1f} s of audio in "
            f"{result.seconds:.1f} s, {result.model}]",
            err=True,
        )


@click.command("asr")
@click.option("--train-size", default=None, type=int, help="Training sentences [default: AsrTrainConfig].")
@click.option("--test-size", default=None, type=int, help="Held-out sentences (new voices and templates).")
@click.option("--epochs", default=None, type=int)
@click.option("--lr", default=None, type=float, help="Peak learning rate.")
@click.option("--seed", default=0, show_default=True)
@click.pass_obj
def train_asr_cmd(
    settings: Settings, train_size: int | None, test_size: int | None, epochs: int | None, lr: float | None, seed: int
) -> None:
    """Fine-tune Whisper base on synthetic medical speech (espeak-ng); the app then uses it. Uses every core
    (30-50 minutes with the defaults on 2 cores: one encoder pass per clip, then 5 epochs of the decoder)."""
    import os

    import torch

    from codx.cli.main import progress_bar
    from codx.training.asr import AsrTrainConfig, train_asr

    defaults = AsrTrainConfig()
    config = AsrTrainConfig(
        n_train=defaults.n_train if train_size is None else train_size,
        n_test=defaults.n_test if test_size is None else test_size,
        epochs=defaults.epochs if epochs is None else epochs,
        lr=defaults.lr if lr is None else lr,
        seed=seed,
    )
    torch.set_num_threads(max(settings.threads, os.cpu_count() or 1))
    with progress_bar("codx train asr") as progress:
        result = train_asr(settings.models_dir, settings.data_dir, config, progress)
    metrics = result.card["metrics"]
    before, after = metrics.get("held_out_before", {}), metrics.get("held_out_after", {})
    click.echo(f"saved {result.path} and its model card {result.path.with_suffix('.json')}")
    if before and after:
        click.echo(
            f"held-out synthetic speech (greedy): WER {before['wer']:.3f} -> {after['wer']:.3f}, "
            f"medical-term WER {before['term_wer']:.3f} -> {after['term_wer']:.3f} (n={after['n']})"
        )
