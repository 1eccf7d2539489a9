"""One notebook read and checked in a process of its own: ``python -m autograder.notebook_check PATH MB``.

The grading command runs this for every submitted and autograded notebook, held to ``MB`` of memory, and reads
the one line of JSON it prints. Read in the grading command's own process, a 43 MB notebook of empty JSON objects
took it to 7.6 GB and a minute of CPU, outside any limit (an outside tester's ninth pass). Only nbformat is
imported here.
"""

from __future__ import annotations

import json
import re
import resource
import sys

import nbformat

SOURCE_MARKERS = re.compile(r"^\s*#+\s*BEGIN (SOLUTION|HIDDEN TESTS)\b", re.MULTILINE)
OUT_OF_MEMORY = 3  # the exit status; the grading command names the limit


def _first_line(err: Exception) -> str:
    text = str(err)
    return f"{type(err).__name__}: {text.splitlines()[0][:200] if text else ''}"


def check(path: str) -> dict:
    """{"unreadable": why or None, "invalid": why or None, "markers": whether it holds the instructor's solution or
    hidden-test regions, "failures": {grade_id: first line of the error its test cell raised}}."""
    found = {"unreadable": None, "invalid": None, "markers": False, "failures": {}}
    try:
        nb = nbformat.read(path, as_version=4)
    except MemoryError:
        raise
    except Exception as err:  # noqa: BLE001 - not JSON, not UTF-8, or not a notebook nbformat can read
        found["unreadable"] = _first_line(err)
        return found
    cells = nb.get("cells", [])
    found["markers"] = any(SOURCE_MARKERS.search(str(cell.get("source", ""))) for cell in cells)
    for cell in cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") != "code" or not meta.get("grade"):
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                text = str(out.get("evalue") or "")
                first = text.splitlines()[0] if text else ""
                found["failures"][str(meta.get("grade_id"))] = f"{out.get('ename')}: {first}"
                break
    try:
        nbformat.validate(nb)
    except MemoryError:
        raise
    except Exception as err:  # noqa: BLE001 - nbformat's validation errors
        found["invalid"] = _first_line(err)
    return found


def main() -> None:
    limit = int(sys.argv[2]) * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        print(json.dumps(check(sys.argv[1])))
    except MemoryError:
        sys.exit(OUT_OF_MEMORY)


if __name__ == "__main__":
    main()
