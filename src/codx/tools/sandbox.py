"""The one folder a tool may touch, and trimming of what a tool says back.

Every path a tool receives from the agent (and so, indirectly, from a patient or a language model) goes
through `resolve_in_workdir` before it is opened. Allowed: a relative path such as `notes/summary.txt`
(or an absolute one that already lies inside the tool folder) that, after following `..` and symbolic
links, stays inside the tool folder. Everything else raises `ToolError` with a message saying so.
"""

from __future__ import annotations

from pathlib import Path

from codx.errors import ToolError

#: Longest path (in characters) a tool may be asked to use, and longest single name (in UTF-8 bytes).
MAX_PATH_CHARS = 255
MAX_NAME_BYTES = 255

ALLOWED = (
    f"a relative path inside the tool folder such as 'notes/summary.txt', at most {MAX_PATH_CHARS} characters, "
    "without control characters, that does not leave the folder (no '..' above it, no absolute path elsewhere, "
    "no symbolic link pointing out)"
)

_TRIM_MARK = "\n[... {n} more characters trimmed]"


def resolve_in_workdir(workdir: Path, user_path: str) -> Path:
    """`user_path` as an absolute, symlink-free path inside `workdir`; `ToolError` if it is not allowed.

    The check is on the fully resolved path (`..` and symbolic links followed, also dangling ones), so
    `a/../b` is fine while `../b`, `/etc/passwd` and a link to `/` are not. The returned path may not exist
    yet; creating parent folders is the tool's job."""
    if not isinstance(user_path, str):
        raise ToolError(f"the path must be text, got {type(user_path).__name__}; allowed: {ALLOWED}")
    if not user_path.strip():
        raise ToolError(f"the path is empty; allowed: {ALLOWED}")
    if "\x00" in user_path:
        raise ToolError(f"the path contains a NUL byte; allowed: {ALLOWED}")
    if any(ord(c) < 32 or ord(c) == 127 for c in user_path):
        raise ToolError(f"the path contains control characters; allowed: {ALLOWED}")
    if len(user_path) > MAX_PATH_CHARS:
        raise ToolError(f"the path is {len(user_path)} characters long; allowed: {ALLOWED}")
    raw = Path(user_path)
    if any(len(part.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES for part in raw.parts):
        raise ToolError(f"one name in the path is longer than {MAX_NAME_BYTES} bytes; allowed: {ALLOWED}")
    root = Path(workdir).expanduser().resolve()
    try:
        target = (root / raw).resolve()  # an absolute `raw` replaces `root`, then must still land inside it
    except (OSError, RuntimeError) as exc:  # symlink loops raise RuntimeError on 3.11
        raise ToolError(f"the path {user_path!r} cannot be resolved ({exc}); allowed: {ALLOWED}") from exc
    if not target.is_relative_to(root):
        raise ToolError(f"the path {user_path!r} leads outside the tool folder; allowed: {ALLOWED}")
    return target


def safe_text(value: str, max_chars: int) -> str:
    """`value` as printable text of at most `max_chars` characters, saying how much was cut.

    NUL and other control characters (except newline and tab) are dropped, so a tool's output cannot
    smuggle terminal escapes into the doctor's screen."""
    if max_chars < 0:
        raise ValueError("max_chars must be >= 0")
    text = value if isinstance(value, str) else str(value)
    text = "".join(c for c in text if c in "\n\t" or not (ord(c) < 32 or ord(c) == 127))
    if len(text) <= max_chars:
        return text
    keep = max_chars
    for _ in range(3):  # the note counts against the budget and its number of digits depends on `keep`
        mark = _TRIM_MARK.format(n=len(text) - keep)
        keep = max_chars - len(mark)
    if keep <= 0:
        return text[:max_chars]
    return text[:keep] + _TRIM_MARK.format(n=len(text) - keep)[: max_chars - keep]
