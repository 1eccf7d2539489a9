"""Shared machinery of the hidden tests: independent comparisons, and refusing borrowed answers.

The hidden test cells of every assignment call one ``check_*`` function per graded part. Each
check judges behaviour (numbers on random inputs, gradients, properties), never source text, and
raises :class:`GradingFailure` with a message meant for the student. Helpers here are captured
when this module is first imported, which the grading kernel does before any student cell runs
(see ``autograder/kernel_startup.py``), so a submission that redefines ``torch.allclose`` and
friends changes nothing here and is reported.
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import types
import warnings
from collections.abc import Callable, Iterator

import numpy as np
import torch

# Pristine references, taken at import time, before any submission code runs in the kernel.
_np_asarray, _np_abs, _np_max, _np_isfinite, _np_all = np.asarray, np.abs, np.max, np.isfinite, np.all
_WATCHED = {
    ("torch", "allclose"): torch.allclose,
    ("torch", "isclose"): torch.isclose,
    ("torch", "equal"): torch.equal,
    ("torch.testing", "assert_close"): torch.testing.assert_close,
    ("numpy", "allclose"): np.allclose,
    ("numpy", "isclose"): np.isclose,
    ("numpy", "array_equal"): np.array_equal,
    ("numpy.testing", "assert_allclose"): np.testing.assert_allclose,
    ("math", "isclose"): math.isclose,
    ("torch.Tensor", "backward"): torch.Tensor.backward,
    ("torch.Tensor", "item"): torch.Tensor.item,
}
_MODULES = {"torch": torch, "torch.testing": torch.testing, "numpy": np, "numpy.testing": np.testing,
            "math": math, "torch.Tensor": torch.Tensor}


class GradingFailure(AssertionError):
    """A hidden check did not pass; the message tells the student what was observed."""


def fail(message: str) -> None:
    raise GradingFailure(message)


def environment_intact() -> None:
    """Refuse to grade in a kernel where the submission replaced comparison or autograd helpers."""
    for (owner, name), original in _WATCHED.items():
        if getattr(_MODULES[owner], name, None) is not original:
            fail(f"The submission replaced {owner}.{name}; graded notebooks may not redefine library "
                 "functions, so this part gets no points.")


def to_numpy(x) -> np.ndarray:
    """A float64 NumPy copy of a tensor or number, for comparisons done outside torch."""
    if isinstance(x, torch.Tensor):
        x = x.detach().to("cpu", torch.float64).numpy()
    return _np_asarray(x, dtype=np.float64)


def assert_close(actual, expected, what: str, rtol: float = 1e-4, atol: float = 1e-5) -> None:
    """Fail unless ``actual`` matches ``expected`` elementwise, judged in float64 NumPy."""
    a, e = to_numpy(actual), to_numpy(expected)
    if a.shape != e.shape:
        fail(f"{what}: expected shape {e.shape}, got {a.shape}.")
    if not _np_all(_np_isfinite(a)):
        fail(f"{what}: got inf or nan where {np.array2string(e.ravel()[:4], precision=5)} was expected "
             "(the inputs include logits like +-100: use a numerically stable formulation).")
    worst = float(_np_max(_np_abs(a - e) - rtol * _np_abs(e))) if a.size else 0.0
    if worst > atol:
        near = float(_np_max(_np_abs(a - e) - 1e-2 * _np_abs(e))) <= 1e-3
        hint = " (close, but not accurate enough: is every log computed in a numerically stable way?)" if near else ""
        fail(f"{what}: expected {np.array2string(e.ravel()[:4], precision=5)}, "
             f"got {np.array2string(a.ravel()[:4], precision=5)}{hint}.")


def scalar_tensor(value, what: str) -> torch.Tensor:
    """The student's loss must be a one-element float tensor that autograd can differentiate."""
    if not isinstance(value, torch.Tensor):
        fail(f"{what} must return a torch tensor, got {type(value).__name__}.")
    if value.numel() != 1:
        fail(f"{what} must return a single number (a mean over the batch), got shape {tuple(value.shape)}.")
    if not value.is_floating_point():
        fail(f"{what} must return a floating-point tensor, got {value.dtype}.")
    return value.reshape(())


# --- the student's own work -----------------------------------------------------------------

def _unwrap(obj):
    while isinstance(obj, functools.partial):
        obj = obj.func
    return getattr(obj, "__func__", obj)


def refuse_borrowed(answer, name: str, library_objects: list) -> None:
    """Refuse an answer that is the course library's (or the grader's) own object, not the student's.

    Identity and ``__module__`` decide, never the source text.
    """
    if answer is None or not callable(answer):
        fail(f"`{name}` is not defined as a function in the notebook.")
    target = _unwrap(answer)
    if any(target is _unwrap(obj) for obj in library_objects):
        fail(f"`{name}` is the course library's own implementation; write it yourself in the notebook.")
    if isinstance(target, type):
        for base in target.__mro__[1:]:
            if (getattr(base, "__module__", "") or "").split(".")[0] in {"gancourse", "autograder"}:
                fail(f"`{name}` is built on the course library's `{base.__qualname__}`; write it yourself "
                     "(subclass torch.nn.Module or plain object instead).")
    module = getattr(target, "__module__", None) or getattr(type(target), "__module__", "") or ""
    if module.split(".")[0] in {"gancourse", "autograder", "torch", "numpy", "scipy"}:
        fail(f"`{name}` is `{module}`'s object, not your own function; write it yourself.")


def _tripwire_code(qualname: str, freevars: tuple[str, ...] = ()) -> types.CodeType:
    """Code for a function that refuses to run; it has the same free variables as the one it
    replaces (``super()`` in a method makes ``__class__`` one), so it fits that function's closure."""
    message = (f"Your answer called the course library's {qualname}; graded parts must be written "
               "by you, not borrowed from the library.")
    inner = f"    def borrowed(*args, **kwargs):\n        {', '.join(freevars) or 'None'}\n" \
            f"        raise AssertionError({message!r})\n"
    source = "def outer():\n" + "".join(f"    {v} = None\n" for v in freevars) + inner + "    return borrowed\n"
    namespace: dict = {}
    exec(source, namespace)
    code = namespace["outer"]().__code__
    return code.replace(co_freevars=freevars) if code.co_freevars != freevars else code


def library_functions(*objects) -> list[Callable]:
    """The plain functions behind library objects: functions as they are, classes as their own methods.

    Feed the result to :func:`library_switched_off`, so that an answer which delegates to a library
    class (``self.inner = gancourse.fixes.ReplayBuffer(...)``) fails as well as one that calls a
    library function.
    """
    found: list[Callable] = []
    for obj in objects:
        if isinstance(obj, type):
            for value in vars(obj).values():
                value = value.__func__ if isinstance(value, (staticmethod, classmethod)) else value
                if isinstance(value, types.FunctionType):
                    found.append(value)
        elif isinstance(obj, types.FunctionType):
            found.append(obj)
    return found


@contextlib.contextmanager
def library_switched_off(functions: list[Callable]) -> Iterator[None]:
    """While grading, make the library's worked implementations raise if an answer calls them.

    The function objects themselves are changed, so even a reference the submission took earlier
    (``from gancourse.losses import discriminator_loss as d``) hits the tripwire.
    """
    saved = [(f, f.__code__, f.__defaults__, f.__kwdefaults__) for f in functions]
    try:
        for f in functions:
            f.__code__ = _tripwire_code(f"{f.__module__}.{f.__qualname__}", f.__code__.co_freevars)
        yield
    finally:
        for f, code, defaults, kwdefaults in saved:
            f.__code__, f.__defaults__, f.__kwdefaults__ = code, defaults, kwdefaults


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Swallow prints and warnings from the code under test: stderr output would zero the cell."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def run_check(part: str, check: Callable[[], None]) -> None:
    """Run one part's check deterministically and report a one-line verdict.

    Any exception from the submission is turned into a GradingFailure naming the part, so that the
    feedback shows what went wrong without a long traceback into the grader.
    """
    environment_intact()
    with torch.random.fork_rng(devices=[]), quiet():
        torch.manual_seed(0)
        try:
            check()
        except GradingFailure as err:
            failure = err
        except Exception as err:  # noqa: BLE001 - any error in student code fails the part
            failure = GradingFailure(f"calling your code raised {type(err).__name__}: {err}")
        else:
            failure = None
    environment_intact()
    if failure is not None:
        raise GradingFailure(f"[{part}] {failure}") from None
    print(f"[{part}] all hidden checks passed")
