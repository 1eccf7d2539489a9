"""The grader's probes: run a student's answer on inputs the grader chooses, and send back plain data.

A hidden test cell asks for one part to be probed::

    from autograder.probes import run
    run("a3_dcgan", "DCGANGenerator", DCGANGenerator)

The probe of that part (``probe_<part>`` in ``autograder/probes/<a>.py``) calls the answer on fixed
inputs, and writes what it observed into a :class:`Record`: tensors (outputs, gradients, parameters
after a step, traced forward graphs) and JSON facts (which calls raised, what they raised). The
record travels as one ``.npz`` file (no pickle) in a display message, which the grader's executor
takes out of the notebook. A separate judge process (``autograder/judges``), which never runs
student code, compares the data with its own float64 references and decides the points.

Nothing here decides a grade and nothing here is secret: the probes run inside the grading sandbox,
next to the student's code, which could change anything they do. What they send is checked by the
judge against computations it makes itself; a forged record has to contain correct numbers.

Those numbers cannot be worked out in advance. While a submission is graded, every seed the probes and
the judge draw inputs from is mixed with a salt (:func:`salted`): a keyed hash of the submission's own
content, made outside the sandbox with the course's grading secret (see ``autograder/executor.py``).
A record computed beforehand, with the course library say, was computed on other inputs; a salt read
while the notebook is graded is of use only to code that computes the answers then, which is code
that answers the assignment. Where any random draw with the right law is a right answer (an
initialisation, flipped labels, a replay buffer's picks, truncated latents), or the answer is one of a
few words (a diagnosis), the request itself depends on the salt: sizes, thresholds, ids, the order of
the cases. The same submission always gets the same salt, so reruns agree.

Outside the sandbox (an instructor running a solution notebook), :func:`run` also asks the judge at
once and prints its verdict, so that a solution's hidden tests can be seen to pass.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib
import os
from pathlib import Path

PROBE_MIME = "application/vnd.gancourse.probe+json"
SALT = "GANCOURSE_PROBE_SALT"  # set by the grader in the sandboxed kernel and in the judge, never elsewhere
HERE = Path(__file__).resolve().parent


def salted(seed: int) -> int:
    """The seed the probes and the judge really use for ``seed``: ``seed`` itself outside grading (an
    instructor running a solution notebook, the tests); while a submission is graded, a 56-bit mix of
    ``seed`` and that submission's salt ($GANCOURSE_PROBE_SALT), the same in the sandbox and in the judge."""
    salt = os.environ.get(SALT, "")
    if not salt:
        return seed
    return int.from_bytes(hashlib.sha256(f"{salt}/{int(seed)}".encode()).digest()[:7], "big")


def module_name(assignment: str) -> str:
    """The probe and judge module of an assignment: ``a3_dcgan`` -> ``a3``, ``portfolio_cgan`` -> ``portfolio``."""
    return assignment.split("_")[0]


def probe_module(assignment: str):
    return importlib.import_module(f"autograder.probes.{module_name(assignment)}")


def sandboxed(assignment: str) -> bool:
    """Whether the assignment is graded by probes in the sandbox (it has a probe module)."""
    return bool(assignment) and (HERE / f"{module_name(assignment)}.py").is_file()


def library_objects(assignment: str) -> dict[str, list[str]]:
    """part -> the course library's objects of the same concept, stubbed in the sandbox until the part is done.

    The first is the library's version of the part (the grader's reference for it); any others are
    library functions that give the same answer for some argument (the smoothed loss with target 1
    is the plain loss), which must not be borrowed either. ``COUNTERPARTS`` in the probe module maps
    a part to one name or a list of names; it is read without importing the module (the grader's own
    process has no need for torch).
    """
    table = _constant(assignment, "COUNTERPARTS") or {}
    return {part: [names] if isinstance(names, str) else list(names) for part, names in table.items()}


def references_for(assignment: str, part: str) -> list[str]:
    """The earlier parts whose library versions (the grader's references) ``part``'s probe runs the answer with,
    so that the part is judged on its own (the step with the grader's losses): ``REFERENCES`` in the probe
    module. The sandbox lends them to that part's test cell alone; the student's own cells never see them."""
    return list((_constant(assignment, "REFERENCES") or {}).get(part, []))


def hidden_packages(assignment: str) -> list[str]:
    """Installed third-party packages that compute a graded part for the student (a Fréchet distance, say):
    ``HIDDEN_PACKAGES`` in the probe module; the sandbox hides them, as it stubs the library's versions."""
    return list(_constant(assignment, "HIDDEN_PACKAGES") or [])


@functools.cache  # the probe modules do not change while a class is graded: read once, not at every test cell
def _constant(assignment: str, name: str):
    """A constant of the assignment's probe module, read without importing it (no torch needed)."""
    path = HERE / f"{module_name(assignment)}.py"
    if not assignment or not path.is_file():
        return None
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return ast.literal_eval(node.value)
    return None


def counterparts(assignment: str) -> dict[str, str]:
    """part -> the course library's version of that part ("gancourse.latent.lerp"): the grader's reference."""
    return {part: names[0] for part, names in library_objects(assignment).items()}


def run(assignment: str, part: str, *answers) -> None:
    """The hidden test of one part: probe it, send the data to the grader, and (outside the sandbox) judge it."""
    from IPython.display import display

    from autograder.probes.record import Record, probe

    record = probe(assignment, part, *answers)
    display({PROBE_MIME: {"part": part, "npz": record.encode()}}, raw=True)
    if os.environ.get("GANCOURSE_SANDBOX"):
        print(f"[{part}] probed; the grader judges the result outside this notebook")
        return
    from autograder.judges import judge_record  # only in the instructor's copy, never in the sandbox

    verdict = judge_record(assignment, part, Record.decode(record.encode()))
    if not verdict.passed:
        raise AssertionError(verdict.message)
    print(verdict.message)
