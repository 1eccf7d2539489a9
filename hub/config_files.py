"""Writing one configuration file for the hub scripts: never over a file someone else wrote."""

from __future__ import annotations

import sys
from pathlib import Path


def write_config(path: Path, text: str, script: str) -> str | None:
    """Write ``text`` (whose first line names ``script``) to ``path``: "wrote <path>", or None when it already
    holds it. A file ``script`` did not write is left alone: the script stops, printing the lines to merge."""
    if path.exists() and path.read_text() == text:
        return None
    if path.exists() and script not in path.read_text():
        sys.exit(f"{Path(script).stem}: {path} exists and was not written by this script; merge these lines into it "
                 f"yourself:\n{text}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return f"wrote {path}"
