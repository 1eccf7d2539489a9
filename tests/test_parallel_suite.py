"""The suite's layout on parallel workers (tests/conftest.py): groups, their order, and the checkout lock."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

from tests.conftest import BOOK_MODULES, LONGEST_FIRST, REPO, SHARED_GROUP, checkout_lock

MODULES = sorted(p.name for p in (REPO / "tests").glob("test_*.py"))


def test_every_named_group_is_a_module_of_the_suite():
    """A renamed module would silently lose its place in the order (or its shared group)."""
    assert set(LONGEST_FIRST) - {"book"} <= set(MODULES)
    assert set(SHARED_GROUP) | set(SHARED_GROUP.values()) | set(BOOK_MODULES) <= set(MODULES)


def test_a_module_that_changes_the_checkout_says_so():
    """hub/setup_exchange.py makes the checkout's private folders unreadable to other users: a module that runs
    it must hold the checkout alone, or the other worker's sandboxed kernels could not read the grader."""
    for name in set(MODULES) - {"test_parallel_suite.py"}:
        text = (REPO / "tests" / name).read_text()
        if "setup_exchange" in text or "protect_checkout" in text:
            assert "\nCHANGES_THE_CHECKOUT = True\n" in text, name


def _config(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    return SimpleNamespace(workerinput={"testrunuid": "layout-test"})


def _hold(config, exclusive: bool, seconds: float, log: list, name: str) -> threading.Thread:
    def run():
        with checkout_lock(config, exclusive):
            log.append((name, "in", time.monotonic()))
            time.sleep(seconds)
            log.append((name, "out", time.monotonic()))
    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _at(log, name, what):
    return next(t for n, w, t in log if n == name and w == what)


def test_shared_holders_run_together_and_an_exclusive_one_alone(tmp_path, monkeypatch):
    config = _config(tmp_path, monkeypatch)
    log: list = []
    first = _hold(config, False, 0.6, log, "shared 1")
    time.sleep(0.1)
    second = _hold(config, False, 0.1, log, "shared 2")
    second.join()
    assert ("shared 1", "out") not in [(n, w) for n, w, _ in log]  # the second did not wait for the first
    alone = _hold(config, True, 0.4, log, "exclusive")
    first.join()
    alone.join()
    assert _at(log, "exclusive", "in") >= _at(log, "shared 1", "out")


def test_a_waiting_exclusive_holder_keeps_new_shared_holders_out(tmp_path, monkeypatch):
    """Without the turnstile a worker taking the lock shared module after module could starve the hub's."""
    config = _config(tmp_path, monkeypatch)
    log: list = []
    first = _hold(config, False, 0.5, log, "shared 1")
    time.sleep(0.1)
    alone = _hold(config, True, 0.3, log, "exclusive")
    time.sleep(0.1)
    late = _hold(config, False, 0.1, log, "shared 2")
    for thread in (first, alone, late):
        thread.join()
    assert _at(log, "shared 1", "out") <= _at(log, "exclusive", "in")
    assert _at(log, "exclusive", "out") <= _at(log, "shared 2", "in")


def test_without_workers_nothing_is_locked(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    with checkout_lock(SimpleNamespace(), exclusive=True), checkout_lock(SimpleNamespace(), exclusive=True):
        pass
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("exclusive", [False, True])
def test_the_lock_is_released_when_its_module_fails(tmp_path, monkeypatch, exclusive):
    config = _config(tmp_path, monkeypatch)
    with pytest.raises(RuntimeError), checkout_lock(config, exclusive):
        raise RuntimeError("a module's fixture failed")
    log: list = []
    _hold(config, True, 0.0, log, "next").join(timeout=5)
    assert log, "the lock was still held"


def test_the_scheduler_keeps_each_group_on_one_worker(pytestconfig, monkeypatch):
    from tests.conftest import pytest_xdist_make_scheduler

    monkeypatch.setattr(pytestconfig.option, "tx", ["2*popen"])  # what `-n 2` sets
    split = pytest_xdist_make_scheduler(pytestconfig, None)._split_scope
    assert split("tests/test_book.py::test_a") == split("tests/test_browser.py::test_b[book/01.html]") == "book"
    assert split("tests/test_gradebook_postgres.py::test_c") == split("tests/test_grading_a1.py::test_d[x::y]")
    assert split("tests/test_grading_a2.py::test_e[1]") == split("tests/test_grading_a2.py::test_f")
    assert split("tests/test_grading_a2.py::test_e") != split("tests/test_grading_a3.py::test_e")


def test_a_parallel_run_removes_its_lock_folder(tmp_path):
    """Each parallel run had left its gancourse-pytest-<id> folder in /tmp."""
    import os
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "2", "-p", "no:cacheprovider",
                          "tests/test_parallel_suite.py", "-k", "every_named_group or says_so"], cwd=REPO,
                         capture_output=True, text=True, timeout=300, env=dict(os.environ, TMPDIR=str(tmp_path)))
    assert run.returncode == 0 and "2 passed" in run.stdout, run.stdout[-2000:] + run.stderr[-2000:]
    assert list(tmp_path.glob("gancourse-pytest-*")) == []
