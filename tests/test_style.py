"""The course's Python is ruff-clean (rules in pyproject.toml), as STYLE.md asks."""

import subprocess
import sys

from tests.conftest import REPO


def test_library_grader_and_tests_are_ruff_clean():
    paths = ["gancourse", "autograder", "tests", "book/_ext", "scripts", "hub", "bench"]
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", *paths], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
