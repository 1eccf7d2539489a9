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
  render. The price: ``$a<b$`` written
  without a space shows its ``<`` as ``&lt;`` in formgrader; ``$a < b$`` is untouched. Every cell is treated
  so, the course's own too: a student can mark any cell as the course's, so that mark is not trusted here;
* a markdown cell whose links or images point anywhere but the web and mail (links: ``http``, ``https``,
  ``mailto``, in-page and relative addresses) or its own pictures (images: attachments and base64 PNG, JPEG or
  GIF data) is shown as code: nbconvert's renderer lets ``javascript:`` links through (a click runs them), and
  an image from another site tells that site when the instructor opened the page. The addresses are read
  from nbconvert's own rendering of the cell, so its entity decoding and parsing decide, not a pattern here;
* nbgrader's ``grade_id`` keeps only letters, digits, ``_`` and ``-`` (formgrader writes it into the page as
  it is; nbgrader restores the real ones from the gradebook before this runs), and a student's ``comment`` in
  it is dropped;
* attachments keep only PNG, JPEG and GIF images with plain base64 data (a transparent pixel replaces one
  with nothing else left, so that the page still renders);
* cell metadata keep only nbgrader's (which nbgrader checks), and the notebook's only its kernel and language.

"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from nbformat import NotebookNode
from nbgrader.preprocessors.base import NbGraderPreprocessor

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


LINK_SCHEMES = {"http", "https", "mailto"}
IMAGE_DATA = re.compile(r"data:image/(png|jpeg|gif);base64,[A-Za-z0-9+/=]*")
SHOWN_AS_CODE = "*[shown as code for grading: this cell links to an address formgrader does not open]*\n\n"


class _Addresses(HTMLParser):
    """Every (attribute, value) of a link or an image of rendered HTML, entities decoded."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        self.found += [(name, value or "") for name, value in attrs if name in ("href", "src", "srcset", "action",
                                                                               "formaction", "xlink:href")]


def _scheme(address: str) -> str | None:
    """The scheme a browser would read in ``address`` (it drops whitespace and control characters), or None."""
    squeezed = re.sub(r"[\x00-\x20\x7f]", "", address)
    match = re.match(r"([A-Za-z][A-Za-z0-9+.\-]*):", squeezed)
    return match.group(1).lower() if match and not re.match(r"[^:]*[/?#]", squeezed.split(":", 1)[0]) else None


def safe_addresses(source: str, attachments: dict | None = None) -> bool:
    """Whether every link and image of markdown ``source``, as nbconvert renders it, is allowed (module doc)."""
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    renderer = IPythonRenderer(escape=False, attachments={name: dict(bundle) for name, bundle in
                                                          (attachments or {}).items()})
    try:
        rendered = MarkdownWithMath(renderer=renderer).render(source)
    except Exception:  # noqa: BLE001 - what nbconvert cannot render is not rendered as markdown here
        return False
    parser = _Addresses()
    parser.feed(rendered)
    for name, value in parser.found:
        scheme = _scheme(value)
        if name == "href" and (scheme is None or scheme in LINK_SCHEMES):
            continue
        if name == "src" and scheme == "data" and IMAGE_DATA.fullmatch(re.sub(r"\s", "", value)):
            continue
        return False
    return True


def inert_markdown(source: str, attachments: dict | None = None) -> str:
    """Markdown whose raw HTML shows as text, and shown as code if it links anywhere but the web and mail."""
    source = TAG_OPENING.sub("&lt;", source)
    if safe_addresses(source, attachments):
        return source
    return SHOWN_AS_CODE + "".join("    " + line for line in source.splitlines(keepends=True))


class NeutralizeActiveContent(NbGraderPreprocessor):
    """Autograde's last word on what the instructor's browser will render of the student's notebook (an
    nbgrader preprocessor: enabled by default, where nbconvert's own are not)."""

    def preprocess(self, nb, resources):
        for cell in nb.cells:
            nbgrader_meta = cell.get("metadata", {}).get("nbgrader")
            if nbgrader_meta is not None:
                nbgrader_meta.pop("comment", None)
                if "grade_id" in nbgrader_meta:
                    nbgrader_meta["grade_id"] = re.sub(r"[^A-Za-z0-9_\-]", "_", str(nbgrader_meta["grade_id"]))
            cell.metadata = NotebookNode({"nbgrader": nbgrader_meta} if nbgrader_meta is not None else {})
            for output in cell.get("outputs", []):
                inert_output(output)
            if "attachments" in cell:
                cell.attachments = NotebookNode({
                    name: NotebookNode({mime: value for mime, value in bundle.items()
                                        if mime in INERT_IMAGES and _inert_image(value)} or {"image/png": BLANK})
                    for name, bundle in cell.attachments.items()})
            if cell.cell_type == "markdown":
                cell.source = inert_markdown(cell.source, cell.get("attachments"))
            elif cell.cell_type == "raw":
                cell.source = TAG_OPENING.sub("&lt;", cell.source)
        keep = {key: nb.metadata[key] for key in ("kernelspec", "language_info", "nbgrader") if key in nb.metadata}
        nb.metadata = NotebookNode(keep)
        return nb, resources
