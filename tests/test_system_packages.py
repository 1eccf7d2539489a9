"""`make test` checks the Debian packages the tests need before pytest runs (scripts/system_packages.sh).

Here every package is installed, so the check passes in silence. With chromium hidden (a bubblewrap view of
this machine in which /usr/bin/chromium is an empty file) and run as a user who is not root, it stops at once
and prints the one command to run; as root with apt it would install them instead (what CI does).
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.conftest import REPO

SCRIPT = REPO / "scripts" / "system_packages.sh"


def test_with_every_package_installed_the_check_passes_quietly():
    proc = subprocess.run([str(SCRIPT)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout == "" and proc.stderr == "", proc.stdout + proc.stderr


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap, which make test installs")
def test_without_chromium_a_user_who_is_not_root_is_told_the_one_command_to_run():
    view = ["bwrap", "--dev-bind", "/", "/", "--ro-bind", "/dev/null", "/usr/bin/chromium", "--"]
    as_user = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []
    proc = subprocess.run(view + as_user + ["bash", str(SCRIPT)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "sudo apt-get install -y --no-install-recommends chromium" in proc.stderr, proc.stderr
    assert "bubblewrap" not in proc.stderr  # only what is missing
