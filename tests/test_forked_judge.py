"""The judge forked from a grading process that has imported the judges (autograder.judge.ForkedJudge) decides
exactly as ``python -m autograder.judges`` does, under the submission's salt, and fails the same way.

The grading command forks it (tests/test_grading_*.py grade whole classes through it); formgrader's own
autograde starts the subprocess. Each test runs in a child process that imports the judges first, as the
grading command's fork server does, so that this pytest process never forks itself with its threads.
"""

from __future__ import annotations

import json
import multiprocessing
import subprocess

import pytest

from gancourse import losses

A1, PART = "a1_two_networks", "discriminator_loss"


def _wrong_loss(real_logits, fake_logits):
    return losses.discriminator_loss(fake_logits, real_logits)  # real and fake swapped


def _payload(salt: str, loss) -> str:
    import os

    from autograder.probes import SALT
    from autograder.probes.record import probe

    os.environ[SALT] = salt
    try:
        return json.dumps({PART: {"npz": probe(A1, PART, loss).encode()}})
    finally:
        del os.environ[SALT]


def _both_judges(salt: str, data: str, queue) -> None:
    """In a fresh child: the judges imported as the fork server does, then both kinds of judge on ``data``."""
    import sys

    import autograder.judges.preload  # noqa: F401
    from autograder.judge import ForkedJudge, start_judge

    forked = start_judge(A1, salt=salt)
    assert isinstance(forked, ForkedJudge)
    sys.stdout.write("buffered in the grading process, never in the verdicts")  # not flushed before the fork
    out_forked, _ = forked.communicate(data, timeout=120)
    del sys.modules["autograder.judges.preload"]
    started = start_judge(A1, salt=salt)
    assert isinstance(started, subprocess.Popen)
    out_started, _ = started.communicate(data, timeout=120)
    queue.put((out_forked, forked.returncode, out_started, started.returncode))


def _in_a_child(target, *args, timeout: float = 300):
    """``target(*args, queue)`` in a fresh spawned process; what it put on the queue."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=target, args=(*args, queue))
    child.start()
    result = queue.get(timeout=timeout)
    child.join(60)
    assert child.exitcode == 0
    return result


def _judged_both_ways(salt: str, data: str):
    return _in_a_child(_both_judges, salt, data)


@pytest.mark.parametrize("loss,passes", [(losses.discriminator_loss, True), (_wrong_loss, False)])
def test_the_forked_judge_decides_as_the_judge_process(loss, passes):
    salt = "f" * 32
    out_forked, code_forked, out_started, code_started = _judged_both_ways(salt, _payload(salt, loss))
    assert code_forked == code_started == 0
    forked, started = json.loads(out_forked), json.loads(out_started)
    assert forked == started
    assert forked[PART]["passed"] is passes, forked


def test_the_forked_judge_draws_under_the_submissions_salt():
    """Data probed under one salt and judged under another fail: the fork reads the salt it was given."""
    out_forked, _, out_started, _ = _judged_both_ways("1" * 32, _payload("2" * 32, losses.discriminator_loss))
    assert json.loads(out_forked)[PART]["passed"] is False
    assert json.loads(out_started) == json.loads(out_forked)


def _unknown_assignment(queue) -> None:
    import autograder.judges.preload  # noqa: F401
    from autograder.judge import start_judge

    judge = start_judge(A1, salt="3" * 32)
    out, err = judge.communicate("{not JSON", timeout=60)
    queue.put((out, err, judge.returncode))


def test_a_forked_judge_that_fails_says_so_on_stderr_with_an_exit_code():
    out, err, code = _in_a_child(_unknown_assignment, timeout=120)
    assert code != 0 and out == "" and "Traceback" in err, (out, err, code)
    assert "JSONDecodeError" in err


def _killed_unused(queue) -> None:
    """Judges started and killed before any data, as a notebook with no probes has them: no pipe is left open."""
    import os

    import autograder.judges.preload  # noqa: F401
    from autograder.judge import start_judge

    before = len(os.listdir("/proc/self/fd"))
    for _ in range(5):
        judge = start_judge(A1, salt="4" * 32)
        judge.kill()
        judge.wait()
    queue.put((before, len(os.listdir("/proc/self/fd")), judge.returncode))


def test_a_judge_killed_before_its_data_leaves_no_open_pipes():
    before, after, code = _in_a_child(_killed_unused, timeout=120)
    assert after == before, f"{after - before} file descriptors left open by 5 killed judges"
    assert code == -9
