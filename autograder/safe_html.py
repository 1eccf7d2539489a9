"""The graded notebook carries no active content from the student into the instructor's browser.

Formgrader shows every autograded notebook to the instructor as an HTML page of the grader's own site, and the
feedback page is made from the same notebook. A student's notebook can hold HTML, JavaScript or SVG outputs,
raw HTML in its markdown, and attachments; rendered as they are, a script among them runs with the
instructor's session (it could change grades, or read the solutions). ``NeutralizeActiveContent`` runs in
autograde after the judge and leaves only inert content in what the student wrote:

* outputs keep plain text and PNG, JPEG or GIF images whose data are plain base64; anything else (HTML,
  JavaScript, SVG, markdown, LaTeX, widgets) is replaced by its plain-text form, or by a note saying what was
  removed; output metadata are dropped;
* in the markdown of every cell, a ``<`` that could open a tag (one followed by a letter, ``/``, ``!`` or
  ``?``) is written ``&lt;``, so raw HTML shows as text; markdown's own emphasis, lists, code and math still
  render (nbconvert's markdown renderer already refuses ``javascript:`` links). The price: ``$a<b$`` written
  without a space shows its ``<`` as ``&lt;`` in formgrader; ``$a < b$`` is untouched. Every cell is treated
  so, the course's own too: a student can mark any cell as the course's, so that mark is not trusted here;
* attachments keep only PNG, JPEG and GIF images with plain base64 data (a transparent pixel replaces one
  with nothing else left, so that the page still renders);
* cell metadata keep only nbgrader's (which nbgrader checks), and the notebook's only its kernel and language.

"""

from __future__ import annotations

import re

from nbgrader.preprocessors.base import NbGraderPreprocessor
from nbformat import NotebookNode

INERT_IMAGES = ("image/png", "image/jpeg", "image/gif")
BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*")
# a transparent pixel in place of an attachment with nothing inert left (the markdown still names it)
BLANK = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg==")
TAG_OPENING = re.compile(r"<(?=[A-Za-z/!?])")
NOTE = "[{kinds} output removed for grading: formgrader shows the student's outputs as text and images only]"


def _inert_image(data) -> bool:
    return isinstance(data, str) and BASE64.fullmatch(data) is not None


def inert_output(output: NotebookNode) -> NotebookNode:
    """``output`` with only plain text and plain base64 images left (a stream or error is already text)."""
    if output.get("output_type") not in ("display_data", "execute_result"):
        return output
    data = output.get("data", {})
    kept = {mime: value for mime, value in data.items()
            if mime == "text/plain" and isinstance(value, str) or mime in INERT_IMAGES and _inert_image(value)}
    removed = sorted(set(data) - set(kept))
    if removed and "text/plain" not in kept:
        kept["text/plain"] = NOTE.format(kinds=", ".join(removed))
    output.data = NotebookNode(kept)
    output.metadata = NotebookNode()
    return output


def inert_markdown(source: str) -> str:
    """Markdown whose raw HTML shows as text."""
    return TAG_OPENING.sub("&lt;", source)


class NeutralizeActiveContent(NbGraderPreprocessor):
    """Autograde's last word on what the instructor's browser will render of the student's notebook (an
    nbgrader preprocessor: enabled by default, where nbconvert's own are not)."""

    def preprocess(self, nb, resources):
        for cell in nb.cells:
            nbgrader_meta = cell.get("metadata", {}).get("nbgrader")
            cell.metadata = NotebookNode({"nbgrader": nbgrader_meta} if nbgrader_meta is not None else {})
            for output in cell.get("outputs", []):
                inert_output(output)
            if cell.cell_type in ("markdown", "raw"):
                cell.source = inert_markdown(cell.source)
            if "attachments" in cell:
                cell.attachments = NotebookNode({
                    name: NotebookNode({mime: value for mime, value in bundle.items()
                                        if mime in INERT_IMAGES and _inert_image(value)} or {"image/png": BLANK})
                    for name, bundle in cell.attachments.items()})
        keep = {key: nb.metadata[key] for key in ("kernelspec", "language_info", "nbgrader") if key in nb.metadata}
        nb.metadata = NotebookNode(keep)
        return nb, resources
