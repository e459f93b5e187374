"""What a run label may be: it is printed on terminals, in reports and in MLflow, and it may come
from a stranger's bundle, so it is checked in one place."""
from __future__ import annotations

MAX_LABEL_LENGTH = 200


def label_problem(text: str) -> str | None:
    """Why ``text`` cannot be a label (empty, surrounding spaces, control or other unprintable
    characters such as ANSI escapes and newlines, too long), or None when it can."""
    if not text.strip() or text != text.strip():
        return "give a name without surrounding spaces"
    if not text.isprintable():
        return "a label holds printable characters only (no control characters, escapes or newlines)"
    if len(text) > MAX_LABEL_LENGTH:
        return f"a label has at most {MAX_LABEL_LENGTH} characters, not {len(text)}"
    return None


def shown(text: object) -> str:
    """``text`` as it may be printed on a terminal: as is when printable, else escaped (a name from a
    bundle or a folder listing may hold ANSI escapes or newlines)."""
    text = str(text)
    return text if text.isprintable() else ascii(text)[1:-1]
