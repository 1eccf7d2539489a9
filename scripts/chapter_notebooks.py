"""Write a runnable .ipynb beside every chapter, for the book's Colab, Binder and JupyterHub buttons.

    python scripts/chapter_notebooks.py           # (re)write book/<chapter>.ipynb   (= make notebooks)
    python scripts/chapter_notebooks.py --check   # exit 1 if a committed notebook is stale

The chapters are MyST-markdown notebooks (book/*.md): that is what we edit and what the book
executes. Colab only opens .ipynb files from a GitHub repository, so this script converts each
chapter with MyST-NB's own reader (the cells are exactly the ones the book runs) and puts one cell
in front. On Colab that cell clones the course repository named in _config.yml, installs the
library and moves into book/, so the chapter's imports and its ``../results`` paths work; anywhere
else (Binder, a JupyterHub, a laptop with `make book` done) it does nothing.

When sphinx-book-theme finds book/<chapter>.ipynb beside book/<chapter>.md, its launch buttons open
the .ipynb. _config.yml excludes these copies from the build, so each chapter is still built once,
from its .md. The notebooks are generated files, like exercises/: never edit them by hand.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
import yaml
from myst_nb.core.read import read_myst_markdown_notebook

REPO = Path(__file__).resolve().parents[1]

SETUP = '''\
# On Google Colab: fetch the course and install its library (elsewhere this cell does nothing).
import sys

if "google.colab" in sys.modules:
    import os
    import subprocess

    course = "/content/gan-course"
    if not os.path.isdir(course):
        subprocess.run(["git", "clone", "--depth", "1", "--branch", "{branch}", "{url}", course], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-e", course,
                    "mlxtend", "torchmetrics", "pytorch-fid"], check=True)
    sys.path.insert(0, course)
    os.chdir(os.path.join(course, "book"))'''


def repository() -> tuple[str, str]:
    """The repository URL and branch that _config.yml gives the launch buttons."""
    config = yaml.safe_load((REPO / "_config.yml").read_text())["repository"]
    return config["url"], config.get("branch", "main")


def chapters() -> list[Path]:
    """Every page of _toc.yml under book/ that is a notebook (it has a kernelspec)."""
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    files = [toc["root"]] + [entry["file"] for part in toc["parts"] for entry in part["chapters"]]
    pages = [REPO / f"{name}.md" for name in files if name.startswith("book/")]
    return [page for page in pages if page.exists() and "\nkernelspec:" in page.read_text().split("\n---", 1)[0]]


def notebook_text(chapter: Path, setup_source: str) -> str:
    """The .ipynb for one chapter, as text: the setup cell, then the chapter's own cells."""
    nb = read_myst_markdown_notebook(chapter.read_text(), path=chapter)
    nb.metadata.pop("jupytext", None)
    setup = nbformat.v4.new_code_cell(setup_source, metadata={"tags": ["colab-setup"]})
    nb.cells.insert(0, setup)
    for number, cell in enumerate(nb.cells):
        cell["id"] = f"{chapter.stem.replace('_', '-')}-{number}"  # stable ids: reruns give the same file
    nb.nbformat, nb.nbformat_minor = 4, 5
    nbformat.validate(nb)
    return nbformat.writes(nb) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only report notebooks that differ from their chapter")
    args = parser.parse_args(argv)
    url, branch = repository()
    setup_source = SETUP.format(url=url, branch=branch)
    pages, stale = chapters(), []
    for chapter in pages:
        target = chapter.with_suffix(".ipynb")
        text = notebook_text(chapter, setup_source)
        if target.exists() and target.read_text() == text:
            continue
        stale.append(target.relative_to(REPO))
        if not args.check:
            target.write_text(text)
    if args.check and stale:
        print("stale chapter notebooks (run `make notebooks`):", *stale, sep="\n  ")
        return 1
    print(f"{len(pages)} chapter notebooks " + ("up to date" if args.check else f"written ({len(stale)} changed)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
