"""A student's notebook runs no script in the instructor's formgrader page (autograder/safe_html.py).

An outside attacker put a script in an HTML output, and an ``<img onerror>`` in a markdown cell, of a
submission: the instructor's opening of it in formgrader then rewrote the gradebook and copied the solutions.
Each way in below is rendered with formgrader's own exporter and template and opened in Debian's chromium: before
``NeutralizeActiveContent`` every payload that can run does, after it none does, and honest content (text,
images, math, code, tables written in markdown) is still there.
"""

from __future__ import annotations

import base64
import copy
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell
from playwright.sync_api import sync_playwright

from autograder.safe_html import NeutralizeActiveContent
from tests.test_browser import ARGS, CHROMIUM

PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000"
    "1ff5c2f3a6f0000000049454e44ae426082")).decode()


def mark(name: str) -> str:
    """JavaScript that records that payload ``name`` ran."""
    return f"window.PWNED=(window.PWNED||'')+' {name}'"


def attack_notebook() -> nbformat.NotebookNode:
    def shown(data, metadata=None):
        return new_output("display_data", data=data, metadata=metadata or {})

    student_answer = {"nbgrader": {"solution": True, "grade": False, "grade_id": "answer", "locked": False,
                                   "schema_version": 3}}
    posing_as_course = {"nbgrader": {"solution": False, "grade": False, "grade_id": "intro", "locked": True,
                                     "schema_version": 3}}
    cells = [
        new_code_cell("print('honest')", outputs=[
            new_output("stream", name="stdout", text="an honest line\n"),
            shown({"text/html": f"<img src=x onerror=\"{mark('html')}\"><script>{mark('script')}</script>",
                   "text/plain": "<IPython.core.display.HTML object>"}),
            shown({"application/javascript": mark("js")}),
            shown({"image/svg+xml": f"<svg xmlns='http://www.w3.org/2000/svg' onload=\"{mark('svg')}\"/>"}),
            shown({"text/markdown": f"<img src=x onerror=\"{mark('markdown_output')}\">"}),
            shown({"image/png": f"x\" onerror=\"{mark('png_data')}"}),
            shown({"image/png": PNG}, {"image/png": {"width": f"1\" onerror=\"{mark('png_meta')}\" x=\""}}),
            shown({"image/png": PNG, "text/plain": "<Figure size 100x100 with 1 Axes>"}),
        ]),
        new_markdown_cell(f"My answer: $a < b$, `x<y`, **bold**.\n\n<img src=x onerror=\"{mark('markdown')}\">",
                          metadata=student_answer),
        new_markdown_cell(f"<details open ontoggle=\"{mark('details')}\">x</details>", metadata=posing_as_course),
        new_markdown_cell("![pic](attachment:a.png)",
                          attachments={"a.png": {"image/png": f"x\" onerror=\"{mark('attachment')}"}}),
        new_markdown_cell("![pic](attachment:b.png)", attachments={"b.png": {"image/png": PNG}}),
        new_raw_cell(f"<img src=x onerror=\"{mark('raw')}\">", metadata={"raw_mimetype": "text/html",
                                                                          "format": "text/html"}),
        new_code_cell("1", metadata={"tags": [f"x\" autofocus onfocus=\"{mark('tag')}\" y=\""]}),
        # a second outside tester's finds: links that run script when clicked, an image from another site, and
        # nbgrader's grade_id, which formgrader writes into the page as it is
        new_markdown_cell("My derivation is in [the appendix](javascript:void(window.PWNED='link'))."),
        new_markdown_cell("See [full credit][r].\n\n[r]: &#106;avascript:void(0)"),
        new_markdown_cell("![plot](https://attacker.example/pixel.png?s=mallory)"),
        new_markdown_cell("[tabbed](java\tscript:void(0)) and [cased](JaVaScRiPt:void(0))"),
        new_markdown_cell("An honest [link](https://pytorch.org), [a section](#top), a [page](other.html) and "
                          "![pic](attachment:c.png)", attachments={"c.png": {"image/png": PNG}}),
        new_code_cell("2", metadata={"nbgrader": {"grade": True, "solution": False, "locked": True, "points": 1,
                                                  "schema_version": 3, "comment": "<b>given</b>",
                                                  "grade_id": f"<img src=x onerror=\"{mark('grade_id')}\">"}}),
    ]
    nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                            "language": "python"},
                                             "title": f"<script>{mark('title')}</script>"})
    return nb


def formgrader_html(nb: nbformat.NotebookNode, tmp_path: Path) -> str:
    """The page formgrader serves for this notebook (its exporter, template and resources)."""
    from nbconvert import HTMLExporter
    from nbgrader.server_extensions.formgrader import handlers
    from traitlets.config import Config

    config = Config()
    config.HTMLExporter.template_name = "formgrade"
    config.HTMLExporter.extra_template_basedirs = [handlers.template_path]
    path = tmp_path / "submission.ipynb"
    nbformat.write(nb, path)
    resources = {"assignment_id": "a1", "notebook_id": "submission", "submission_id": "x", "index": 0, "total": 1,
                 "base_url": "", "student": "mallory", "last_name": None, "first_name": None,
                 "notebook_path": "/autograded/mallory/a1/submission.ipynb"}
    html, _ = HTMLExporter(config=config).from_filename(str(path), resources=resources)
    return html


@pytest.fixture(scope="module")
def page():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(java_script_enabled=True)
        yield context.new_page()
        browser.close()


def ran(page, html: str) -> set[str]:
    page.goto("about:blank")  # a fresh window: set_content alone keeps the last page's globals
    page.set_content(html, wait_until="load")
    page.wait_for_timeout(300)
    return set(page.evaluate("window.PWNED || ''").split())


ACTIVE = """[...document.querySelectorAll('*')].flatMap(e => [...e.attributes]
    .filter(a => a.name.startsWith('on') || /^\\s*javascript:/i.test(a.value)).map(a => e.tagName + ' ' + a.name))
    .concat([...document.scripts].map(s => 'SCRIPT ' + (s.src || s.text.slice(0, 40))))
    .concat([...document.images].map(i => i.getAttribute('src')).filter(s => !s.startsWith('data:image/'))
    .map(s => 'IMG ' + s))"""


def test_the_payloads_run_in_formgraders_page_as_the_student_wrote_them(page, tmp_path):
    """The control: the test's payloads are real, so the test below can fail."""
    assert {"html", "script", "markdown", "details", "markdown_output", "grade_id"} <= ran(
        page, formgrader_html(attack_notebook(), tmp_path))
    active = " ".join(page.evaluate(ACTIVE))
    assert active.count("A href") >= 3 and "IMG https://attacker.example" in active, active





def test_none_runs_once_autograde_has_neutralized_the_notebook(page, tmp_path):
    nb, _ = NeutralizeActiveContent().preprocess(attack_notebook(), {})
    nbformat.validate(nb)
    assert ran(page, formgrader_html(nb, tmp_path)) == set()
    active = page.evaluate(ACTIVE)
    shown = " ".join(page.inner_text("body").split())
    images = page.locator("img[src^='data:image/png;base64,iVBOR']").count()
    ran(page, formgrader_html(new_notebook(cells=[new_code_cell("1")]), tmp_path))
    assert sorted(active) == sorted(page.evaluate(ACTIVE)), "no handler or script beyond formgrader's own"
    assert "an honest line" in shown and "My answer:" in shown and "bold" in shown, "honest text stays"
    assert "application/javascript output removed for grading" in shown
    assert images >= 4, "honest images stay (two outputs and two attachments)"
    assert '<img src=x onerror="window.PWNED' in shown, "the student's raw HTML shows as text"


def test_honest_markdown_keeps_its_math_code_and_emphasis():
    source = "A $a < b$ and $$\\sum_i x_i$$, `code`, **bold**, a list:\n\n- one\n- two\n\n> quoted"
    nb = new_notebook(cells=[new_markdown_cell(source)])
    NeutralizeActiveContent().preprocess(nb, {})
    assert nb.cells[0].source == source


def test_outputs_keep_text_and_plain_images_only_and_say_what_was_removed():
    nb = attack_notebook()
    before = copy.deepcopy(nb)
    NeutralizeActiveContent().preprocess(nb, {})
    outputs = nb.cells[0].outputs
    assert outputs[0] == before.cells[0].outputs[0], "a stream is text already"
    assert outputs[1].data == {"text/plain": "<IPython.core.display.HTML object>"}
    assert set(outputs[2].data) == {"text/plain"} and "application/javascript" in outputs[2].data["text/plain"]
    assert set(outputs[5].data) == {"text/plain"}, "image data that is not base64 is dropped"
    assert outputs[6].data == {"image/png": PNG} and outputs[6].metadata == {}
    assert outputs[7].data == before.cells[0].outputs[7].data
    from autograder.safe_html import BLANK

    assert nb.cells[3].attachments == {"a.png": {"image/png": BLANK}}
    assert nb.cells[4].attachments == {"b.png": {"image/png": PNG}}
    assert nb.cells[1].metadata == before.cells[1].metadata, "nbgrader's cell metadata stay"
    assert nb.cells[5].metadata == {} and nb.cells[6].metadata == {}
    assert set(nb.metadata) == {"kernelspec"}


def test_links_and_images_outside_the_web_and_the_notebook_show_the_cell_as_code():
    from autograder.safe_html import SHOWN_AS_CODE

    nb = attack_notebook()
    before = copy.deepcopy(nb)
    NeutralizeActiveContent().preprocess(nb, {})
    for index in (7, 8, 9, 10):
        assert nb.cells[index].source.startswith(SHOWN_AS_CODE), before.cells[index].source
        assert before.cells[index].source.splitlines()[0] in nb.cells[index].source, "the student's text is all there"
    assert nb.cells[11].source == before.cells[11].source, "web links, anchors, relative pages and attachments stay"
    assert re.fullmatch(r"[A-Za-z0-9_\-]+", nb.cells[12].metadata.nbgrader.grade_id)
    assert "comment" not in nb.cells[12].metadata.nbgrader
