"""What a probe records, how it travels, and the helpers every probe uses (see autograder/probes/__init__.py)."""

from __future__ import annotations

import base64
import contextlib
import functools
import importlib
import inspect
import io
import json
import sys
import traceback
import warnings
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

from autograder.probes import counterparts, probe_module, salted

FACTS = "__facts__"


class Record:
    """What a probe observed: named arrays and JSON facts, encoded together as one .npz file."""

    def __init__(self, arrays: dict[str, np.ndarray] | None = None, facts: dict[str, Any] | None = None) -> None:
        self.arrays: dict[str, np.ndarray] = dict(arrays or {})
        self.facts: dict[str, Any] = dict(facts or {})

    # --- writing (in the sandbox) -----------------------------------------------------------------
    def array(self, name: str, value) -> None:
        if isinstance(value, torch.Tensor):
            value = value.detach().to("cpu")
            if value.dtype in (torch.bfloat16, torch.float16):
                value = value.float()
            value = value.resolve_conj().resolve_neg().contiguous().numpy().copy()
        self.arrays[name] = np.asarray(value)

    def fact(self, name: str, value: Any) -> None:
        self.facts[name] = value

    def error(self, name: str, err: BaseException) -> None:
        last = traceback.extract_tb(err.__traceback__)[-1:] if err.__traceback__ else []
        where = f"(line {last[0].lineno})" if last else ""
        self.facts[name] = {"error": type(err).__name__, "message": " ".join(filter(None, (str(err)[:400], where)))}

    def call(self, name: str, fn: Callable, *args, **kwargs):
        """fn(*args, **kwargs), recording an exception under ``name`` instead of raising it (None then)."""
        try:
            return fn(*args, **kwargs)
        except Exception as err:  # noqa: BLE001 - a failing answer is data for the judge
            self.error(name, err)
            return None

    def output(self, name: str, value) -> None:
        """Record a returned value: a tensor or array as an array, anything else by its type and repr."""
        if isinstance(value, (torch.Tensor, np.ndarray)):
            self.array(name, value)
            kind = "tensor" if isinstance(value, torch.Tensor) else "ndarray"
            self.facts[name] = {"type": kind, "dtype": str(value.dtype),
                                "requires_grad": bool(getattr(value, "requires_grad", False))}
        elif isinstance(value, (bool, int, float, str)) or value is None:
            self.facts[name] = {"type": type(value).__name__, "value": value if not isinstance(value, float)
                                or np.isfinite(value) else repr(value)}
        else:
            self.facts[name] = {"type": type(value).__name__, "value": repr(value)[:200]}

    def encode(self) -> str:
        buffer = io.BytesIO()
        facts = np.frombuffer(json.dumps(self.facts, default=repr).encode(), dtype=np.uint8)
        np.savez_compressed(buffer, **{FACTS: facts}, **self.arrays)
        return base64.b64encode(buffer.getvalue()).decode("ascii")

    # --- reading (in the judge) -------------------------------------------------------------------
    @classmethod
    def decode(cls, text: str, max_bytes: int = 256_000_000) -> Record:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:  # sizes before unpacking anything
            if sum(info.file_size for info in archive.infolist()) > max_bytes:
                raise ValueError("the probe data is larger than the judge accepts")
        arrays: dict[str, np.ndarray] = {}
        with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
            for name in npz.files:
                arrays[name] = npz[name]
        facts = json.loads(arrays.pop(FACTS).tobytes().decode()) if FACTS in arrays else {}
        return cls(arrays, facts)

    def tensor(self, name: str, dtype: torch.dtype | None = None) -> torch.Tensor:
        value = torch.from_numpy(np.array(self.arrays[name]))
        return value.to(dtype) if dtype is not None else value

    def has(self, name: str) -> bool:
        return name in self.arrays

    def raised(self, name: str) -> str | None:
        """The error an answer raised for ``name`` (as "Type: message"), or None."""
        fact = self.facts.get(name)
        if isinstance(fact, dict) and "error" in fact:
            text = str(fact["message"])
            return f"{fact['error']} {text}" if text.startswith("(line") or not text else f"{fact['error']}: {text}"
        return None


def salted_generator(seed: int) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with :func:`~autograder.probes.salted` ``(seed)``: where every probe input
    and every input of the judge's own comes from."""
    return torch.Generator().manual_seed(salted(seed))


def reference(target: str, stub_ok: bool = False):
    """The course library's object ``target`` ("gancourse.latent.lerp"), imported afresh.

    In the sandbox the library's counterparts of graded parts are stubs, but for the references a part's
    test cell is lent (``REFERENCES`` in the probe module; see autograder/sandbox.py); a fresh import reads
    the library as it is now, without disturbing the modules the notebook imported. A stub where a reference
    was wanted is the grader's mistake, said at once (unless ``stub_ok``).
    """
    module, _, name = target.rpartition(".")
    ours = {k: v for k, v in sys.modules.items() if k == "gancourse" or k.startswith("gancourse.")}
    for key in ours:
        del sys.modules[key]
    importlib.invalidate_caches()
    try:
        found = importlib.import_module(module)
        if not stub_ok and name in getattr(found, "_GRADED_STUBS", ()):
            raise RuntimeError(f"the grader's {target} is not lent to this test cell: it is lent only once its own "
                               "part's test has run (were the test cells moved?), and only where REFERENCES in the "
                               "assignment's probe module names it")
        return getattr(found, name)
    finally:
        for key in [k for k in sys.modules if k == "gancourse" or k.startswith("gancourse.")]:
            del sys.modules[key]
        sys.modules.update(ours)


def undefined_part(part: str, target: str):
    """What the grader puts under the name of a part the notebook left undefined (its cell raised, or is gone): a
    function, or a subclass of the library's stub for a class, that raises saying so. The library's stub said the
    student had borrowed the library's version, which they had not (an other-style student's report)."""
    message = (f"{part} is not defined in this notebook (its cell raised an error or is missing); the grader put "
               f"this placeholder under its name so that later parts still run. Write {part} to use it.")

    def raise_undefined(*args, **kwargs):
        raise NameError(message)

    stub = reference(target, stub_ok=True)
    if isinstance(stub, type):
        return type(part, (stub,), {"__init__": lambda self, *args, **kwargs: raise_undefined()})
    raise_undefined.__name__ = raise_undefined.__qualname__ = part
    return raise_undefined


def _namespace(answer) -> dict | None:
    """The global namespace an answer looks names up in: a function's, through its decorators (``__wrapped__``: a
    ``@torch.no_grad()`` function's own globals are torch's) and ``functools.partial``; a class's methods'; a callable
    object's class's (its ``forward`` or ``__call__``: a loss written as an ``nn.Module``). Before, the last two were
    passed over, and an earlier part the answer calls was not replaced by the grader's (an other-style student)."""
    for _ in range(20):  # decorators and partials, however deep
        if isinstance(answer, functools.partial):
            answer = answer.func
        elif hasattr(answer, "__wrapped__"):
            answer = answer.__wrapped__
        else:
            break
    if hasattr(answer, "__globals__"):
        return answer.__globals__
    classes = answer.__mro__ if isinstance(answer, type) else type(answer).__mro__
    for cls in classes:
        if cls is object or str(cls.__module__).split(".")[0] == "torch":  # nn.Module's methods are torch's
            continue
        for value in vars(cls).values():
            value = getattr(value, "__func__", value)  # static and class methods
            if hasattr(value, "__globals__"):
                return value.__globals__
    return None


_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def called_as(ours, own):
    """The grader's function ``ours``, callable the way the answer calls its ``own`` version of the part.

    A later part calls the earlier one as the student wrote it: an honest ``one_hot(labels, num_classes=10,
    dtype=torch.float32)`` is called ``one_hot(y, num_classes=10)``, which the library's ``one_hot(labels,
    n_classes=10)`` refuses, so the later part lost its points to the earlier part's signature (an other-style
    student's report). A call the library's function cannot take is read with the student's signature, and each
    of the library's parameters gets the argument of the same name or, failing that, the one in the same place;
    arguments the library has no parameter for (``dtype=``) are dropped. A call it can take is passed on as is."""
    if not callable(own) or isinstance(own, type) or isinstance(ours, type):
        return ours
    try:  # the answer's signature is its own to describe (``__signature__``, odd defaults): whatever breaks, as is
        mine, theirs = inspect.signature(ours), inspect.signature(own)
        if list(mine.parameters) == list(theirs.parameters) or any(
                p.kind not in _POSITIONAL for p in theirs.parameters.values()):
            return ours
    except Exception:  # noqa: BLE001
        return ours
    names = list(theirs.parameters)

    @functools.wraps(ours)
    def adapted(*args, **kwargs):
        try:
            mine.bind(*args, **kwargs)
        except TypeError:
            try:
                bound = theirs.bind(*args, **kwargs)
            except TypeError:
                return ours(*args, **kwargs)  # the library's own error
            given = {}
            for i, p in enumerate(mine.parameters.values()):
                if p.kind not in _POSITIONAL:
                    break
                if p.name in bound.arguments:
                    given[p.name] = bound.arguments[p.name]
                elif i < len(names) and names[i] not in mine.parameters and names[i] in bound.arguments:
                    given[p.name] = bound.arguments[names[i]]
            return ours(**given)
        return ours(*args, **kwargs)

    return adapted


@contextlib.contextmanager
def with_references(assignment: str, answer, parts: list[str] | dict[str, str]) -> Iterator[None]:
    """While the probe runs, the names of earlier ``parts`` in the answer's namespace mean the grader's
    references (the course library's versions), so that each part is judged on its own. ``parts`` may map
    a name to its library object directly, for a piece the assignment does not grade (the portfolio's
    ``one_hot``, graded in assignment 4)."""
    namespace = _namespace(answer)
    table = parts if isinstance(parts, dict) else counterparts(assignment)
    missing = object()
    saved = {}
    if namespace is not None:
        for part in parts:
            saved[part] = namespace.get(part, missing)
            namespace[part] = called_as(reference(table[part]), saved[part])
    try:
        yield
    finally:
        if namespace is not None:
            for part, value in saved.items():
                if value is missing:
                    namespace.pop(part, None)
                else:
                    namespace[part] = value


def signature(record: Record, fn, key: str = "signature") -> None:
    """The parameters of a function or class and their defaults, as text, under ``key`` (the judge
    compares them with the library's): a default's ``repr`` (a function's name), None for no default,
    "*" for ``*args``/``**kwargs``."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return
    described: dict[str, str | None] = {}
    for name, p in params.items():
        if p.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            described[name] = "*"
        elif p.default is inspect.Parameter.empty:
            described[name] = None
        else:
            described[name] = getattr(p.default, "__name__", None) or repr(p.default)[:60]
    record.fact(key, described)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Keep what the answer prints or warns out of the notebook while it is probed."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def probe(assignment: str, part: str, *answers) -> Record:
    """Run the probe of ``part`` on the student's answers, seeded, and return what it recorded."""
    record = Record()
    fn = getattr(probe_module(assignment), f"probe_{part}")
    with torch.random.fork_rng(devices=[]), quiet():
        torch.manual_seed(salted(0))
        try:
            fn(record, *answers)
        except Exception as err:  # noqa: BLE001 - whatever broke, the judge reads the record
            record.error("probe", err)
    return record
