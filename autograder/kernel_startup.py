"""Runs inside every grading kernel before the first cell of a submission (see nbgrader_config.py).

It sends stderr to stdout (nbgrader counts any stderr output as a failed test), caps the kernel's
memory, so that a memory hog fails its own cell instead of the machine, and imports every
assignment's hidden-test checks while the kernel is still pristine, so that the helpers and the
library objects they capture are the real ones whatever the submission redefines later.
"""

import os
import resource
import sys

_limit = int(os.environ.get("GANCOURSE_GRADING_MEMORY_MB", "6144")) * 2**20
resource.setrlimit(resource.RLIMIT_DATA, (_limit, _limit))

# nbgrader scores a test cell zero when anything reaches stderr, so a warning or a tqdm progress bar
# printed by a correct answer would cost its points. Errors still fail the cell: they are not stderr.
sys.stderr = sys.stdout

import torch  # noqa: E402

# The same arithmetic in every grading kernel, however many students are graded at once.
torch.set_num_threads(int(os.environ.get("GANCOURSE_GRADING_THREADS", "1")))

import importlib  # noqa: E402
import pkgutil  # noqa: E402

import autograder.checks  # noqa: E402  (import for its side effect: the pristine snapshot)

for _module in pkgutil.iter_modules(autograder.checks.__path__):
    importlib.import_module(f"autograder.checks.{_module.name}")
