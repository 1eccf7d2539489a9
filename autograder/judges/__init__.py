"""The judges: decide each part's points from the data its probe sent, in a process that runs no student code.

``judge_record(assignment, part, record)`` calls ``judge_<part>(record)`` of
``autograder/judges/<a>.py``. A judge reads the record (:class:`autograder.probes.Record`), recomputes
what a correct answer gives on the same inputs with its own float64 references (:mod:`.reference`),
reruns traced networks (:mod:`.graph`), and raises :class:`GradingFailure` with a message for the
student when something is wrong. The inputs come from the probe module's own input functions, called
here again: the judge never trusts inputs the record claims.

The judge runs in ``python -m autograder.judge``, a fresh process started by nbgrader's autograde
(see :mod:`autograder.judge`), never in the sandbox.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from autograder.probes import module_name
from autograder.probes.record import Record


class GradingFailure(AssertionError):
    """A part did not pass; the message tells the student what was observed."""


def fail(message: str) -> None:
    raise GradingFailure(message)


@dataclass
class Verdict:
    passed: bool
    message: str


def judge_record(assignment: str, part: str, record: Record) -> Verdict:
    """The verdict on one part: passed, or failed with the reason."""
    module = importlib.import_module(f"autograder.judges.{module_name(assignment)}")
    judge: Callable[[Record], None] | None = getattr(module, f"judge_{part}", None)
    if judge is None:
        return Verdict(False, f"[{part}] the grader has no judge for this part.")
    if record.raised("probe"):
        return Verdict(False, f"[{part}] your code could not be run by the grader: {record.raised('probe')}")
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            judge(record)
    except GradingFailure as err:
        return Verdict(False, f"[{part}] {err}")
    except Exception as err:  # noqa: BLE001 - data that breaks the judge earns nothing
        # The exception's text stays in the judge: it was raised on the judge's own inputs and references, and a
        # graph built to fail (a view whose shape is the values it computed, say) would print them to the student.
        return Verdict(False, f"[{part}] the grader could not use what your code returned (its checks raised "
                              f"{type(err).__name__} on it): compare the shapes, dtypes and values your code returns "
                              "with the visible tests, on other inputs and batch sizes too.")
    return Verdict(True, f"[{part}] all hidden checks passed")


# --- reading a record ------------------------------------------------------------------------------

def answer(record: Record, name: str, what: str) -> torch.Tensor:
    """The tensor an answer returned for ``name``; fails with the answer's own error or wrong type."""
    error = record.raised(name)
    if error:
        fail(f"{what} raised {error}")
    fact = record.facts.get(name)
    if not isinstance(fact, dict) or fact.get("type") not in ("tensor", "ndarray"):
        kind = fact.get("type") if isinstance(fact, dict) else "nothing"
        fail(f"{what} must return a tensor, got {kind}.")
    if not record.has(name):
        fail(f"{what}: the grader received no values.")
    return record.tensor(name)


def recorded_dtype(record: Record, name: str) -> str:
    """The dtype of the tensor an answer returned for ``name`` ("torch.float32"), read from the values it sent. The
    probe's own report of the dtype is kept only where the values agree with it (half precision travels as float32):
    a tensor subclass reports whatever dtype it likes (an outside gaming pass passed int64 one-hot rows as float32)."""
    fact = record.facts.get(name)
    said = str(fact.get("dtype")) if isinstance(fact, dict) else "nothing"
    if not record.has(name):
        return said
    stored = f"torch.{record.arrays[name].dtype}"
    return said if said == stored or (said in ("torch.bfloat16", "torch.float16") and stored == "torch.float32") \
        else stored


def signature_is(record: Record, expected: dict[str, str | None], what: str, key: str = "signature") -> None:
    """The answer has the library's parameters: ``{name: default}`` (a default's repr, or None for any
    default or none), as :func:`autograder.probes.record.signature` recorded them under ``key``."""
    got = record.facts.get(key)
    if not isinstance(got, dict) or "*" in got.values():  # not inspectable, or a *args wrapper: nothing to say
        return
    wanted = ", ".join(name if default is None else f"{name}={default}" for name, default in expected.items())
    for name, default in expected.items():
        if name not in got or (default is not None and got[name] != default):
            fail(f"the signature must be {what}({wanted}), as the course library's: the argument `{name}`"
                 + ("" if default is None else f" with default {default}") + " is missing.")


def built(record: Record, name: str, call: str) -> None:
    """Fail with the answer's own error if the probe's ``call`` (e.g. building a network) raised."""
    error = record.raised(name)
    if error:
        fail(f"{call} raised {error}")


def to_numpy(x) -> np.ndarray:
    """A float64 NumPy copy of a tensor, array or number."""
    if isinstance(x, torch.Tensor):
        x = x.detach().to("cpu", torch.float64).numpy()
    return np.asarray(x, dtype=np.float64)


def worst_element(actual: np.ndarray, expected: np.ndarray, rtol: float) -> str:
    """Where ``actual`` is farthest from ``expected``, as a clause, when that is past the first four entries a message
    shows (a student saw four equal-looking pairs of numbers, the mismatch elsewhere); empty otherwise."""
    a, e = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if a.size <= 4 or a.shape != e.shape:
        return ""
    off = np.where(np.isnan(a) != np.isnan(e), np.inf, np.nan_to_num(np.abs(a - e) - rtol * np.abs(e), nan=0.0))
    flat = int(np.argmax(off))
    if flat < 4:
        return ""
    index = tuple(int(i) for i in np.unravel_index(flat, a.shape))
    return f"; the largest difference is at index {index}: expected {e.flat[flat]:.5g}, got {a.flat[flat]:.5g}"


def assert_close(actual, expected, what: str, rtol: float = 1e-4, atol: float = 1e-5) -> None:
    """Fail unless ``actual`` matches ``expected`` elementwise, judged in float64."""
    a, e = to_numpy(actual), to_numpy(expected)
    if a.shape != e.shape:
        fail(f"{what}: expected shape {e.shape}, got {a.shape}.")
    if not np.all(np.isfinite(a)) and np.all(np.isfinite(e)):
        fail(f"{what}: got inf or nan where {np.array2string(e.ravel()[:4], precision=5)} was expected "
             "(the inputs include extreme values: use a numerically stable formulation).")
    worst = float(np.max(np.abs(a - e) - rtol * np.abs(e))) if a.size else 0.0
    if worst > atol or np.any(np.isnan(a) != np.isnan(e)):
        near = float(np.max(np.abs(a - e) - 1e-2 * np.abs(e))) <= 1e-3 if a.size else False
        hint = (" (close, but not accurate enough: a float32 step, an unstable formula such as log(sigmoid(.)), or a "
                "special case applied too widely?)") if near else ""
        fail(f"{what}: expected {np.array2string(e.ravel()[:4], precision=5)}, "
             f"got {np.array2string(a.ravel()[:4], precision=5)}{worst_element(a, e, rtol)}{hint}.")
