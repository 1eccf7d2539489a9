"""The grading kernel's start-up code leaves the kernel in the state the hidden checks rely on."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import REPO

PROBE = """
import json, runpy, sys
runpy.run_path("autograder/kernel_startup.py")
import torch
print(json.dumps({"checks": sorted(m for m in sys.modules if m.startswith("autograder.checks.")),
                  "stderr_is_stdout": sys.stderr is sys.stdout, "threads": torch.get_num_threads()}))
"""


def test_every_assignments_checks_are_imported_before_student_code_and_stderr_goes_to_stdout():
    proc = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "GANCOURSE_GRADING_THREADS": "1", "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    state = json.loads(proc.stdout.strip().splitlines()[-1])
    expected = sorted(f"autograder.checks.{p.stem}" for p in (REPO / "autograder" / "checks").glob("*.py")
                      if p.stem != "__init__")
    assert state["checks"] == expected and expected
    assert state["stderr_is_stdout"] is True
    assert state["threads"] == 1
