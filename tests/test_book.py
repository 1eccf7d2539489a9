"""The book builds from scratch with warnings as errors, and its chapters really executed."""

from __future__ import annotations

import re

import yaml

from tests.conftest import REPO


def test_book_builds_without_warnings(built_book, measured):
    html, log, seconds = built_book
    measured(f"[measured] book build with execution, from an empty cache: {seconds:.0f} s")
    assert (html / "index.html").exists()
    sphinx_warnings = [line for line in log.splitlines() if "WARNING:" in line]  # Sphinx's own format
    assert not sphinx_warnings, sphinx_warnings[:10]


def test_chapter_one_shows_figures_made_by_executed_cells(built_book):
    html, _, _ = built_book
    page = (html / "book" / "01_two_networks.html").read_text()
    figures = re.findall(r'<img[^>]+src="([^"]+\.png)"', page)
    assert len(figures) >= 4, f"only {len(figures)} figures in chapter 1"
    for src in figures:
        assert (html / "book" / src).resolve().exists(), src
    assert "Traceback" not in page


def test_chapter_one_cites_goodfellow_2014(built_book):
    html, _, _ = built_book
    page = (html / "book" / "01_two_networks.html").read_text()
    assert "Goodfellow" in page and "2014" in page


def test_launch_buttons_open_the_chapters_notebook(built_book):
    html, _, _ = built_book
    config = yaml.safe_load((REPO / "_config.yml").read_text())
    org_repo = config["repository"]["url"].removeprefix("https://github.com/")
    page = (html / "book" / "03_dcgan.html").read_text().replace("&amp;", "&")
    by_kind = {kind: url for url, kind in
               re.findall(r'href="(https://[^"]*?(colab|mybinder|hub/user-redirect)[^"]*)"', page)}
    assert set(by_kind) == {"colab", "mybinder", "hub/user-redirect"}, by_kind
    assert by_kind["colab"] == (f"https://colab.research.google.com/github/{org_repo}/blob/"
                                f"{config['repository']['branch']}/book/03_dcgan.ipynb")
    assert by_kind["mybinder"].endswith("urlpath=lab/tree/book/03_dcgan.ipynb")
    assert by_kind["hub/user-redirect"].startswith(config["launch_buttons"]["jupyterhub_url"])
    assert "book/03_dcgan.ipynb" in by_kind["hub/user-redirect"]
    exercise = (html / "exercises" / "a3_dcgan" / "dcgan.html").read_text()
    assert "mybinder.org" in exercise and "colab.research.google.com" not in exercise, \
        "assignment notebooks have no Colab set-up cell, so their pages must not offer Colab"


def unhelpful_alt(alt: str) -> bool:
    """An alt text that says nothing to a reader who cannot see the image: empty, a file name or path, a hash."""
    alt = alt.strip()
    return (len(alt) < 10 or bool(re.search(r"\.(png|jpe?g|svg|gif)\b", alt)) or "_images/" in alt
            or bool(re.fullmatch(r"[0-9a-f]{16,}", alt)))


def test_every_figure_of_every_page_has_alt_text_that_describes_it(built_book):
    """Screen readers read the alt text; myst-nb gives an output image its file name unless the cell sets
    `mystnb: {image: {alt: ...}}`. Every image in the pages' content must carry a description."""
    html, _, _ = built_book
    found, missing = 0, []
    for page in sorted(html.rglob("*.html")):
        if "_static" in page.parts or "_sources" in page.parts:
            continue
        main = re.search(r"<main.*?</main>", page.read_text(), re.S)
        for tag in re.findall(r"<img\b[^>]*>", main.group(0) if main else ""):
            found += 1
            alt = re.search(r'\balt="([^"]*)"', tag)
            if alt is None or unhelpful_alt(alt.group(1)):
                missing.append(f"{page.relative_to(html)}: {tag[:160]}")
    assert found >= 40, f"only {found} images found: has the page layout changed?"
    assert not missing, "\n".join(missing)


def test_the_alt_text_check_refuses_file_names_and_hashes():
    assert unhelpful_alt("../_images/fbebb0f859643feac51a.png") and unhelpful_alt("") and unhelpful_alt("a plot")
    assert unhelpful_alt("9d33c99dba672e7ee99aa0b1c2d3e4f5")
    assert not unhelpful_alt("A grid of 64 samples from the trained DCGAN: clear, varied handwritten digits.")
