"""The chapters assert what their prose says about results in hidden cells (tag remove-cell).

That only protects the text if a false claim stops the book's build. These tests build a one-page
book with the project's own execution settings and the flags of `make book`: a hidden cell whose
claim is false must fail the build and name the claim, and the same page with a true claim must
build, so the failure comes from the claim and nothing else.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

PAGE = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# A measured result

```{{code-cell}} ipython3
share = 0.72
print(f"share: {{share:.2f}}")
```

```{{code-cell}} ipython3
:tags: [remove-cell]

assert {claim}, "text says about three pairs out of four"
```

In about three pairs out of four the mixed image keeps the first latent's digit.
"""


def build(folder: Path, claim: str) -> tuple[subprocess.CompletedProcess, Path]:
    config = yaml.safe_load((REPO / "_config.yml").read_text())
    folder.mkdir()
    (folder / "_config.yml").write_text(yaml.safe_dump({"title": "claims", "execute": config["execute"]}))
    (folder / "_toc.yml").write_text(yaml.safe_dump({"format": "jb-book", "root": "page"}))
    (folder / "page.md").write_text(PAGE.format(claim=claim))
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    proc = subprocess.run([str(jupyter_book), "build", str(folder), "-W", "-n", "--keep-going"],
                          cwd=folder, capture_output=True, text=True, timeout=600)
    return proc, folder / "_build" / "html"


def test_the_chapters_hide_claim_cells_and_do_not_allow_errors():
    config = yaml.safe_load((REPO / "_config.yml").read_text())
    assert config["execute"]["allow_errors"] is False
    chapters = sorted((REPO / "book").glob("0[1-7]_*.md"))
    with_claims = [c.name for c in chapters if ":tags: [remove-cell]" in c.read_text()]
    assert len(with_claims) >= 6, with_claims


@pytest.mark.parametrize("claim, builds", [("0.65 <= share <= 0.82", True), ("0.80 <= share <= 0.82", False)])
def test_a_false_claim_stops_the_build(tmp_path, claim, builds):
    proc, html = build(tmp_path / "book", claim)
    log = proc.stdout + proc.stderr
    if builds:
        assert proc.returncode == 0, log[-3000:]
        page = (html / "page.html").read_text()
        assert "share: 0.72" in page  # the visible cell ran and shows its output
        assert "text says" not in page  # the hidden cell is not on the page
    else:
        assert proc.returncode != 0, log[-3000:]
        reports = "".join(p.read_text() for p in (html / "reports").rglob("*.log"))
        assert "text says about three pairs out of four" in reports, log[-3000:]
