"""Imported once by the grading command's fork server (autograder/grade.py): torch and every judge.

Each student's nbgrader process is forked from that server, and its judge is forked from it in turn
(:class:`autograder.judge.ForkedJudge`), ready to judge, instead of a new Python process that imports
torch and the judges again (1.5-3 s of CPU a student). Nothing here runs student code or draws probe
inputs: the judges read the submission's salt when they judge.
"""

import gc
import importlib
import pkgutil

import autograder.judges
import autograder.judges.__main__  # noqa: F401 - the judge's entry point

for _module in pkgutil.iter_modules(autograder.judges.__path__):
    if _module.name not in ("__main__", "preload"):
        importlib.import_module(f"autograder.judges.{_module.name}")

# Everything imported so far stays put for good: the collector of every forked grading process skips it (without
# this, each nbgrader process spent about a second more on collections than before the preload).
gc.freeze()
