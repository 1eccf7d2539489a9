"""No function or class of the course library passes a graded part unless the sandbox stubs it then.

``COUNTERPARTS`` in each probe module lists, for each graded part, the library's own version and the kin
found by hand (the smoothed loss with target 1 is the plain loss). This scan looks for kin nobody listed:
for every graded part of every sandboxed assignment (the parts are read from the solution notebooks' hidden
test cells, in notebook order), every function and class *defined* in a ``gancourse`` module (public and
private, module level; names imported from elsewhere are left out) is handed to the part's probe as the
student's answer, unchanged, and the judge decides. A candidate the judge passes is kin, and the test fails
unless the sandbox would have it stubbed while that part is graded: the stubbed set is the real
:class:`~autograder.sandbox.Sandbox`'s (``_stubbed``, with its ``private_helpers``), built from
``library_objects`` with the references that part's test cell is lent (``references_for``), as the executor lends them,
and those lent to earlier test cells, which a thread of the student's could have kept.

What is scanned, and how it is kept to seconds (judging every candidate on every part took about 6 minutes,
250 s of it the portfolio's ``evaluate``):

* A candidate the sandbox stubs while the part is graded is not judged: its verdict could not matter.
* **The first-call screen.** Each part's probe is run once with a spy that records the first call it makes
  to the answer (a function's arguments, a class's constructor arguments, and the random states, autograd mode
  and default dtype it is made in), then stops the probe. A candidate whose signature cannot take that call,
  or that raises when run on a copy of it in that state, is not judged: in the sandbox its first call
  raises. That a first call that raises fails the part is checked for every part
  (``test_an_answer_whose_first_call_raises_fails_the_part``: a correct fixture answer whose first call
  raises, and every later call is right, is failed). Of some 4,350 (candidate, part) pairs, about 150 are
  left to judge; most of the time saved went into drawing (``viz.plot_1d``, drawn 50 times a judging of
  ``lerp``, raises on its first call there).
* The embedded digits are parsed once for the module (``contained``): the same arrays, handed out as copies.
* The portfolio's training part is judged with its budget run shrunk to a few steps and thresholds that any
  finite run meets (as its fast tests do): that can only pass more candidates, never fewer, so it can only
  report false kin, not miss any. Both fixes (``probes.FIXES``) are scanned, with the discriminator of a
  correct fixture answer as the further answer, as the portfolio's tests pass it.
* Each candidate has a wall-clock limit (``LIMIT_S``). A candidate that runs past it is not called "not kin":
  it is reported as undecided and fails the test, so that nothing slow is dropped silently.

Not scanned: library functions called with other arguments than the part's (a wrapper, a partial), compositions
of two library objects, methods of library classes, and third-party packages (``HIDDEN_PACKAGES``). Those are
what a student's own code does with the library; the scan only checks that no library object *is* a part.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import functools
import importlib
import inspect
import math
import pkgutil
import random
import signal
import sys
import threading
import time
from collections.abc import Iterator

import matplotlib.pyplot as plt
import nbformat
import numpy as np
import pytest
import torch

import gancourse
from autograder.judges import portfolio as portfolio_judges
from autograder.probes import library_objects, module_name, references_for, sandboxed
from autograder.probes import portfolio as portfolio_probes
from autograder.probes.record import probe, quiet
from autograder.sandbox import Sandbox
from gancourse import data
from tests.conftest import REPO
from tests.grading_harness import judged

LIMIT_S = 30  # a candidate still running after this is reported as undecided (the sandbox's cell limit is 60 s)
ASSIGNMENTS = sorted(p.name for p in (REPO / "solutions").iterdir() if p.is_dir() and sandboxed(p.name))


# --- what is graded, and what is stubbed while it is ------------------------------------------------------

def graded_calls(assignment: str) -> list[tuple[str, int]]:
    """(part, number of answers passed to it) for each ``run(assignment, part, *answers)`` of the solution
    notebook's hidden test cells, in notebook order: the order in which the sandbox releases the parts."""
    found = []
    for path in sorted((REPO / "solutions" / assignment).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "code" or "run(" not in cell.source:
                continue
            for node in ast.walk(ast.parse(cell.source)):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "run" and len(node.args) >= 3 \
                        and all(isinstance(a, ast.Constant) for a in node.args[:2]) \
                        and node.args[0].value == assignment:
                    found.append((node.args[1].value, len(node.args) - 2))
    return found


def graded_parts(assignment: str) -> list[str]:
    return [part for part, _ in graded_calls(assignment)]


PARTS = [(a, part) for a in ASSIGNMENTS for part in graded_parts(a)]


def stubbed_while_graded(assignment: str, part: str,
                         counterparts: dict[str, list[str]] | None = None) -> frozenset[str]:
    """The library objects ("gancourse.module.name") the sandbox has stubbed while ``part``'s test runs: its
    own ``Sandbox`` lending the part's references (``counterparts``: instead of COUNTERPARTS)."""
    if counterparts is None:
        return _stubbed_in_turn(assignment)[part]
    return _stubbed_in_turn(assignment, tuple((p, tuple(names)) for p, names in counterparts.items()))[part]


@functools.cache
def _stubbed_in_turn(assignment: str, counterparts: tuple | None = None) -> dict[str, frozenset[str]]:
    box = Sandbox(assignment, library_objects(assignment) if counterparts is None
                  else {p: list(names) for p, names in counterparts})
    stubbed = {}
    try:
        lent: list[str] = []
        for part in graded_parts(assignment):
            # what an earlier test cell was lent, a thread of the student's may have kept: counted as not stubbed
            lent += references_for(assignment, part)
            with box.lending(lent):
                stubbed[part] = frozenset(f"{module}.{name}" for module, names in box._stubbed().items()
                                          for name in names)
    finally:
        box.cleanup()
    return stubbed


@functools.cache
def further_answers(assignment: str, part: str) -> list[tuple]:
    """The answers a part's probe takes after the student's one, as the tests of that assignment pass them (one
    tuple per way of passing them); every part the notebook grades with more than one answer must be here."""
    if (assignment, part) == ("portfolio_cgan", "train_cgan"):  # judged_training: the fix, the notebook's D
        tests = importlib.import_module("tests.test_grading_portfolio")
        namespace = tests.namespace_until(part, tests.CORRECT["planes"][part])
        return [(fix, namespace["ConditionalDiscriminator"]) for fix in portfolio_probes.FIXES]
    return [()]


# --- the candidates ---------------------------------------------------------------------------------------

def library_callables() -> list[tuple[str, object]]:
    """("gancourse.module.name", object) for every function and class defined at the top of a course module."""
    found: dict[int, tuple[str, object]] = {}
    modules = ["gancourse"] + [f"gancourse.{m.name}" for m in pkgutil.iter_modules(gancourse.__path__)]
    for name in modules:
        for value in vars(importlib.import_module(name)).values():
            if (inspect.isfunction(value) or inspect.isclass(value)) and value.__module__ == name:
                found.setdefault(id(value), (f"{name}.{value.__qualname__}", value))
    return sorted(found.values(), key=lambda item: item[0])


CANDIDATES = library_callables()  # taken before any test patches the library (see ``contained``)
_EMBEDDED = data._embedded_mnist_arrays()


class _Stop(BaseException):
    """Ends a probe at once (a BaseException: the probes record and carry on after an Exception)."""


@functools.cache
def first_call(assignment: str, part: str, further: tuple) -> tuple | None:
    """The first call the part's probe makes to the answer: (args, kwargs, the state it is made in), or None if
    the probe makes none."""
    seen: list[tuple] = []
    namespace = {"seen": seen, "Stop": _Stop, "states": _call_state}  # the spy's own globals (see with_references)
    exec("def answer(*args, **kwargs):\n    seen.append((args, kwargs, states()))\n    raise Stop\n", namespace)
    with contextlib.suppress(_Stop):
        probe(assignment, part, namespace["answer"], *further)
    return seen[0] if seen else None


def _call_state() -> tuple:
    """What a call may behave differently in: the random states, autograd's mode, torch's default dtype."""
    return (torch.get_rng_state(), np.random.get_state(), random.getstate(), torch.is_grad_enabled(),
            torch.get_default_dtype())


def fails_first_call(candidate, call: tuple | None) -> bool:
    """Whether ``candidate`` raises on the probe's first call: its signature cannot take the arguments, or it
    raises when run on a copy of them in the state the probe made the call in. False when there is no call, or
    it cannot be replayed (then the candidate is judged)."""
    if call is None:
        return False
    args, kwargs, (torch_state, numpy_state, python_state, grad, dtype) = call
    try:
        params = inspect.signature(candidate)
    except (TypeError, ValueError):
        params = None  # no readable signature (an exception class): run it
    if params is not None:
        try:
            params.bind(*args, **kwargs)
        except TypeError:
            return True
    try:
        args, kwargs = copy.deepcopy((args, kwargs))
    except Exception:  # noqa: BLE001 - arguments that cannot be copied: judge the candidate instead
        return False
    before = _call_state()
    try:
        with torch.random.fork_rng(devices=[]), quiet(), torch.set_grad_enabled(grad):
            torch.set_rng_state(torch_state)
            np.random.set_state(numpy_state)
            random.setstate(python_state)
            torch.set_default_dtype(dtype)
            candidate(*args, **kwargs)
    except (Exception, SystemExit):  # noqa: BLE001 - whatever it raises, the probe would have recorded
        return True
    finally:
        np.random.set_state(before[1])
        random.setstate(before[2])
        torch.set_default_dtype(before[4])
    return False


def raising_first(answer):
    """``answer``, except that its first call raises (for a class, its first instantiation): the kind of answer
    the screen leaves out, with everything after the first call right."""
    calls: list[int] = []

    def first_fails() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the first call fails")

    if isinstance(answer, type):
        @functools.wraps(answer.__init__)
        def __init__(self, *args, **kwargs):  # noqa: N807 - the class's constructor
            first_fails()
            answer.__init__(self, *args, **kwargs)

        return type(answer.__name__, (answer,), {"__init__": __init__, "__module__": answer.__module__,
                                                 "__qualname__": answer.__qualname__})

    @functools.wraps(answer)
    def wrapped(*args, **kwargs):
        first_fails()
        return answer(*args, **kwargs)

    return wrapped


def correct_answer(assignment: str, part: str):
    """The first correct fixture answer of the part, defined the way that assignment's tests define it."""
    tests = importlib.import_module(f"tests.test_grading_{module_name(assignment)}")
    return tests.define(part, next(iter(tests.CORRECT.values()))[part])


class _Undecided(BaseException):
    """A candidate ran past LIMIT_S (a BaseException, so that neither the probe nor the judge records it)."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise _Undecided in the code run inside after ``seconds`` of wall-clock time (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(*_):
        raise _Undecided

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def contained(tmp_path, monkeypatch):
    """Candidates run with arguments meant for something else: whatever they write lands in a scratch folder,
    and the global state they may change (random seeds, torch's defaults, open figures) is put back.

    The embedded digits are parsed once and handed out as copies: the same arrays, without the 0.7 s of
    np.loadtxt that every probe, judge and candidate loading them would pay again (the portfolio's evaluate
    loads them twice a judging)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(data, "_embedded_mnist_arrays", lambda: tuple(a.copy() for a in _EMBEDDED))
    state = (random.getstate(), np.random.get_state(), torch.get_default_dtype(), torch.get_num_threads(),
             torch.is_grad_enabled())
    yield
    random.setstate(state[0])
    np.random.set_state(state[1])
    torch.set_default_dtype(state[2])
    torch.set_num_threads(state[3])
    torch.set_grad_enabled(state[4])
    plt.close("all")


@pytest.fixture
def short_budget(monkeypatch):
    """The portfolio's budget run shrunk, with thresholds any finite run meets (it can only pass more)."""
    monkeypatch.setitem(portfolio_probes.BUDGET, "steps", 5)
    monkeypatch.setattr(portfolio_judges, "thresholds", lambda: {"fid_max": math.inf, "mean_accuracy_min": 0.0})


def scan(assignment: str, part: str, stubbed: frozenset[str]) -> tuple[list[str], list[str], int]:
    """(kin that are not stubbed, candidates undecided in LIMIT_S, judgings made) for one part."""
    kin, undecided, judgings = [], [], 0
    for further in further_answers(assignment, part):
        call = first_call(assignment, part, further)
        for name, candidate in CANDIDATES:
            if name in stubbed:
                continue
            start = time.perf_counter()
            try:
                with time_limit(LIMIT_S):
                    if fails_first_call(candidate, call):
                        continue
                    judgings += 1
                    passed = judged(assignment, part, candidate, *further).passed
            except _Undecided:
                undecided.append(f"{name} (still running after {time.perf_counter() - start:.0f} s)")
                continue
            except (Exception, SystemExit):  # noqa: BLE001 - a candidate that breaks anything is simply not kin
                continue
            if passed and name not in kin:
                kin.append(name)
    return kin, undecided, judgings


# --- the tests --------------------------------------------------------------------------------------------

def test_every_sandboxed_assignment_has_graded_parts_to_scan():
    assert {module_name(a) for a in ASSIGNMENTS} >= {"a1", "a2", "a3", "a4", "a5", "a6", "a7", "portfolio"}
    for assignment in ASSIGNMENTS:
        assert graded_parts(assignment), assignment
        assert set(library_objects(assignment)) <= set(graded_parts(assignment)), assignment


@pytest.mark.parametrize("assignment,part", [(a, p) for a in ASSIGNMENTS for p, n in graded_calls(a) if n > 1])
def test_each_part_graded_with_further_answers_is_scanned_with_them(assignment, part):
    n = dict(graded_calls(assignment))[part]
    assert all(len(further) == n - 1 for further in further_answers(assignment, part)), (assignment, part)


@pytest.mark.parametrize("assignment,part", PARTS)
def test_an_answer_whose_first_call_raises_fails_the_part(assignment, part, contained, short_budget):
    """What the screen rests on: a correct answer (tests/test_grading_*.py check that it passes) whose first call
    raises, and every later one is right, is failed."""
    answer = correct_answer(assignment, part)
    for further in further_answers(assignment, part):
        assert first_call(assignment, part, further) is not None
        verdict = judged(assignment, part, raising_first(answer), *further)
        assert not verdict.passed, (further, verdict.message)


@pytest.mark.parametrize("assignment,part", PARTS)
def test_no_library_object_passes_a_part_unless_the_sandbox_stubs_it(assignment, part, contained, short_budget):
    kin, undecided, judgings = scan(assignment, part, stubbed_while_graded(assignment, part))
    problems = [f"{name} passes {assignment}'s {part} but is not stubbed while it is graded: add it to "
                f"COUNTERPARTS[{part!r}] in autograder/probes/{module_name(assignment)}.py" for name in kin]
    problems += [f"{name}: could not be judged on {part} within {LIMIT_S} s" for name in undecided]
    assert not problems, "\n".join(problems)
    print(f"[kin scan] {assignment} {part}: {judgings} judgings")


@pytest.mark.parametrize("assignment,part,own", [("a7_beyond", "cycle_consistency_loss",
                                                  "gancourse.cyclegan.cycle_consistency_loss"),
                                                 ("a7_beyond", "NoiseInjection", "gancourse.stylegan.NoiseInjection")])
def test_the_scan_reports_a_parts_own_library_version_when_nothing_is_stubbed(assignment, part, own, contained,
                                                                              short_budget):
    stubbed = stubbed_while_graded(assignment, part, counterparts={})
    assert stubbed == set()
    kin, undecided, _ = scan(assignment, part, stubbed)
    assert own in kin and not undecided, (kin, undecided)


def test_a_candidate_that_runs_past_the_limit_is_reported_not_dropped(monkeypatch, contained):
    def slow(real_logits, fake_logits):
        time.sleep(10)

    monkeypatch.setattr(sys.modules[__name__], "LIMIT_S", 0.2)
    monkeypatch.setattr(sys.modules[__name__], "CANDIDATES", [("gancourse.losses.slow", slow)])
    kin, undecided, _ = scan("a1_two_networks", "discriminator_loss", frozenset())
    assert not kin and len(undecided) == 1 and undecided[0].startswith("gancourse.losses.slow"), undecided
