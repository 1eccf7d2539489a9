"""book/<chapter>.ipynb (the launch buttons' copies) match their chapters, and their Colab cell works."""

from __future__ import annotations

import json
import runpy
import subprocess
import sys
import types

import yaml

from tests.conftest import REPO

SCRIPT = runpy.run_path(str(REPO / "scripts" / "chapter_notebooks.py"))


def test_every_chapter_has_an_up_to_date_notebook(capsys):
    chapters = SCRIPT["chapters"]()
    assert [p.name for p in chapters] == [f"0{i}_{name}.md" for i, name in enumerate(
        ["two_networks", "troubles", "dcgan", "conditional", "mode_collapse", "evaluation", "beyond"], start=1)]
    assert SCRIPT["main"](["--check"]) == 0, capsys.readouterr().out + " -> run `make notebooks`"


def test_notebook_holds_the_chapters_code_after_the_setup_cell():
    chapter = REPO / "book" / "03_dcgan.md"
    nb = json.loads(chapter.with_suffix(".ipynb").read_text())
    cells = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    assert cells[0].startswith("# On Google Colab") and nb["cells"][0]["metadata"]["tags"] == ["colab-setup"]
    blocks = chapter.read_text().split("```{code-cell} ipython3\n")[1:]
    assert len(cells) - 1 == len(blocks)
    for cell, block in zip(cells[1:], blocks):
        body = block.split("\n```", 1)[0]
        assert cell in body, cell[:80]
    assert "jupytext" not in nb["metadata"] and nb["metadata"]["kernelspec"]["name"] == "python3"


def setup_cell() -> str:
    nb = json.loads((REPO / "book" / "01_two_networks.ipynb").read_text())
    return "".join(nb["cells"][0]["source"])


def test_setup_cell_does_nothing_outside_colab(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append(a))
    monkeypatch.setattr("os.chdir", lambda path: calls.append(path))
    exec(compile(setup_cell(), "setup", "exec"), {})
    assert calls == []


def test_setup_cell_on_colab_clones_the_configured_repository(monkeypatch):
    config = yaml.safe_load((REPO / "_config.yml").read_text())["repository"]
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    commands, moves = [], []
    monkeypatch.setattr(subprocess, "run", lambda cmd, **k: commands.append((cmd, k)))
    monkeypatch.setattr("os.chdir", moves.append)
    monkeypatch.setattr("os.path.isdir", lambda path: False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    exec(compile(setup_cell(), "setup", "exec"), {})
    (clone, clone_kw), (pip, pip_kw) = commands
    assert clone[:2] == ["git", "clone"] and config["url"] in clone and config["branch"] in clone
    assert pip[1:4] == ["-m", "pip", "install"] and "-e" in pip and clone[-1] in pip
    assert clone_kw == pip_kw == {"check": True}
    assert moves == [clone[-1] + "/book"] and sys.path[0] == clone[-1]
