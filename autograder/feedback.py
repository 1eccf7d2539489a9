"""Feedback that tells students why they lost points, and carries nothing else back.

nbgrader's feedback is the autograded notebook rendered to HTML, with any other file of the graded
folder copied next to it. Here (see nbgrader_config.py):

* ``HideHiddenTests`` removes the hidden-test regions from test cells, shortens the error of a
  graded cell to its last line (the judge's verdict), and blanks any text of a hidden test that a
  submission printed into an output;
* ``keep_only_html``, run after ``nbgrader generate_feedback``, deletes everything in a student's
  feedback folder but the HTML pages, so no file of the submission or of grading travels back. It then
  writes back the two small files of the submission that ``nbgrader release_feedback`` reads (the
  submission's time, and the random secret that names its feedback in the exchange), checked first:
  they stay in the instructor's folder, and only the HTML pages go to the exchange.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from nbgrader.preprocessors import ClearHiddenTests
from nbgrader.utils import is_grade

# what nbgrader's submit writes into a submission, and release_feedback reads from the feedback folder
EXCHANGE_FILES = {"timestamp.txt": re.compile(r"\d{4}-\d\d-\d\d[ T][0-9:.]+( ?[A-Z]{3}|[+-]\d\d:?\d\d)?"),
                  "submission_secret.txt": re.compile(r"[0-9a-f]{16,256}")}
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n?(.*?)### END HIDDEN TESTS\n?", re.DOTALL)
REDACTED = "[hidden test]"


def _redact(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


class HideHiddenTests(ClearHiddenTests):
    """Strip hidden tests and grader tracebacks from graded cells before rendering feedback."""

    def preprocess(self, nb, resources):
        regions = [m.group(0) for cell in nb.cells if cell.cell_type == "code" for m in HIDDEN.finditer(cell.source)]
        lines = {line.strip() for region in regions for line in region.splitlines() if len(line.strip()) >= 12}
        self._secrets = sorted(lines, key=len, reverse=True)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if is_grade(cell):
            if self._remove_hidden_test_region(cell):
                cell.source = cell.source.rstrip("\n") + "\n# (hidden tests ran here)"
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = _redact(output["text"], self._secrets)
            if "evalue" in output:
                output["evalue"] = _redact(output["evalue"], self._secrets)
                output["traceback"] = [_redact(line, self._secrets) for line in output.get("traceback", [])]
            for mime, value in list(output.get("data", {}).items()):
                if isinstance(value, str):
                    output["data"][mime] = _redact(value, self._secrets)
        return cell, resources


def keep_only_html(assignment: str, student: str, notebooks: list[str]) -> None:
    """nbgrader post-convert hook of generate_feedback: a feedback folder holds only the HTML pages made
    from the graded notebooks (``<notebook>.html``); every other file nbgrader copied there (a student's
    own files, whatever their name) is removed."""
    root = Path(os.environ.get("GANCOURSE_COURSE_ROOT", Path(__file__).resolve().parents[1])).resolve()
    folders: dict[Path, set[str]] = {}
    for notebook in notebooks:
        graded = Path(notebook)
        folder = root / "feedback" / graded.parent.parent.name / graded.parent.name
        folders.setdefault(folder, set()).add(f"{graded.stem}.html")
    for folder, pages in folders.items():
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            keep = path.parent == folder and path.name in pages and path.is_file() and not path.is_symlink()
            if path.is_symlink() or (path.is_file() and not keep):
                path.unlink()
            elif path.is_dir():
                shutil.rmtree(path)
        graded = root / "autograded" / folder.parent.name / folder.name
        for name, form in EXCHANGE_FILES.items():
            source = graded / name
            if source.is_file() and not source.is_symlink() and source.stat().st_size <= 512:
                text = source.read_text(errors="replace")
                if form.fullmatch(text.strip()):
                    (folder / name).write_text(text.strip())
