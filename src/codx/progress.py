"""The one progress callback shape: (stage description, fraction done in [0, 1])."""

from collections.abc import Callable

Progress = Callable[[str, float], None]
