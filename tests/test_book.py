"""The book builds from scratch with warnings as errors, and its chapters really executed."""

from __future__ import annotations

import re


def test_book_builds_without_warnings(built_book, capsys):
    html, log, seconds = built_book
    with capsys.disabled():
        print(f"\n[measured] book build with execution, from an empty cache: {seconds:.0f} s")
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
