"""Screen a submission before it runs: neutralise code that tampers with grading or reads files.

Graded notebooks need tensors and the course library, nothing else. A code cell written by the
student that touches the interpreter's machinery (sys, builtins, importlib, gc, ctypes, IPython),
the file system or processes (os, pathlib, open, subprocess), or that reassigns attributes of an
imported module (``torch.allclose = ...``) is replaced by a cell that raises a clear error. Parts
that depend on that cell then score zero, with the reason in the feedback; all other parts are
graded as usual. This runs in nbgrader, outside the kernel, so the submission cannot switch it off.
"""

from __future__ import annotations

import ast

from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade, is_locked

# Modules a graded notebook never needs, and which give access to the grader or the disk.
FORBIDDEN_MODULES = {
    "os", "sys", "builtins", "importlib", "gc", "ctypes", "inspect", "subprocess", "shutil",
    "pathlib", "glob", "io", "pickle", "marshal", "signal", "resource", "threading",
    "multiprocessing", "socket", "IPython", "ipykernel", "nbformat", "nbgrader", "autograder",
    "runpy", "code", "codeop", "types", "tempfile", "sqlite3", "dill", "cloudpickle", "joblib",
    "pytest", "unittest", "traceback", "atexit", "faulthandler", "site", "zipimport", "pkgutil",
}
FORBIDDEN_NAMES = {
    "open", "exec", "eval", "compile", "__import__", "globals", "locals", "vars", "getattr",
    "setattr", "delattr", "get_ipython", "exit", "quit", "breakpoint", "input", "__builtins__",
    "__loader__", "__spec__",
}
# Dunder attributes a graded answer may use; every other ``.__x__`` reaches interpreter internals
# (globals, code objects, subclasses, frames) and is refused, as are frame and traceback fields.
ALLOWED_DUNDERS = {"__init__", "__name__", "__doc__", "__len__", "__call__", "__repr__", "__str__",
                   "__getitem__", "__iter__", "__next__", "__enter__", "__exit__", "__qualname__"}
FORBIDDEN_ATTRIBUTES = {"f_globals", "f_locals", "f_back", "f_builtins", "gi_frame", "cr_frame",
                        "tb_frame", "tb_next"}


def _forbidden_attribute(attr: str) -> bool:
    dunder = attr.startswith("__") and attr.endswith("__")
    return (dunder and attr not in ALLOWED_DUNDERS) or attr in FORBIDDEN_ATTRIBUTES


def _root_name(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _changed_attributes(target: ast.AST):
    """The attribute nodes an assignment target writes through, skipping index expressions.

    ``torch.allclose = f`` and ``torch.x.y[0] = f`` write through ``torch.x``; ``buf[torch.randint(n,
    (k,))] = x`` writes into ``buf`` only, so the ``torch.randint`` inside the index is not a change.
    """
    if isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            yield from _changed_attributes(element)
        return
    node = target.value if isinstance(target, ast.Starred) else target
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        if isinstance(node, ast.Attribute):
            yield node
        node = node.value


def problems(source: str) -> list[str]:
    """Why a code cell may not run during grading; an empty list when it is fine."""
    lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
    magic = [ln.strip() for ln in source.splitlines() if ln.lstrip().startswith(("%", "!"))]
    found = [f"uses the IPython magic or shell escape `{m}`" for m in magic
             if not m.startswith(("%matplotlib", "%config"))]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError as err:
        return found + [f"is not valid Python (line {err.lineno}: {err.msg})"]
    modules: set[str] = set()  # names bound to imported modules in this cell
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                modules.add((alias.asname or alias.name).split(".")[0])
                if alias.name.split(".")[0] in FORBIDDEN_MODULES:
                    found.append(f"imports `{alias.name}` (line {node.lineno})")
        elif isinstance(node, ast.ImportFrom):
            if node.level or (node.module or "").split(".")[0] in FORBIDDEN_MODULES:
                found.append(f"imports from `{node.module}` (line {node.lineno})")
        elif isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            found.append(f"uses `{node.id}` (line {node.lineno})")
        elif isinstance(node, ast.Attribute) and _forbidden_attribute(node.attr):
            found.append(f"uses `.{node.attr}` (line {node.lineno})")
    for node in ast.walk(tree):
        targets: list[ast.AST] = []
        if isinstance(node, (ast.Assign,)):
            targets = list(node.targets)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, ast.Delete):
            targets = list(node.targets)
        for target in targets:
            for sub in _changed_attributes(target):
                if _root_name(sub) in KNOWN_MODULE_NAMES | modules:
                    found.append(f"changes the library attribute `{ast.unparse(sub)}` (line {sub.lineno})")
    return sorted(set(found), key=found.index)


# Names under which notebooks usually hold modules; assigning their attributes is tampering.
KNOWN_MODULE_NAMES = {"torch", "nn", "F", "np", "numpy", "math", "gancourse", "losses", "nets", "train",
                      "data", "viz", "plt", "matplotlib", "scipy", "random", "functools", "tqdm"}


def neutralised_source(reasons: list[str]) -> str:
    """The cell that stands in for a screened-out one: it fails with the reasons, so feedback shows them."""
    message = ("Autograder: this cell was not run because it " + "; ".join(reasons) + ". Graded notebooks may "
               "only use tensors, the course library and plain Python; ask your instructor if you think this "
               "is a mistake.")
    return f"# This cell was not run by the autograder.\nraise RuntimeError({message!r})\n"


class ScreenSubmission(NbGraderPreprocessor):
    """nbgrader preprocessor: replace student code cells that may not run during grading."""

    def preprocess_cell(self, cell, resources, index):
        from autograder.probes import sandboxed

        if sandboxed(resources.get("nbgrader", {}).get("assignment", "")):
            return cell, resources  # graded in the sandbox: nothing is screened out
        meta = cell.metadata.get("nbgrader", {})
        instructors = is_locked(cell) or (is_grade(cell) and not meta.get("solution", False))
        if cell.cell_type != "code" or instructors:
            return cell, resources
        reasons = problems(cell.source)
        if reasons:
            self.log.warning("Screened out cell %s: %s", index, "; ".join(reasons))
            cell.source = neutralised_source(reasons)
        return cell, resources
