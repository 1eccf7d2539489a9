"""What a sandboxed kernel prints reaches the grading log only as marked lines of its own.

An outside attacker found the kernel's stdout and stderr open on the host's grading log: it wrote lines there
that looked like the grader's (``[AutogradeApp | ERROR] honest: ...``), 64 MB of filler, and read the log back.
The kernel now writes into a pipe; ``relay_kernel_output`` logs each line as a repr behind a mark, and the
grading command's reading of the log (``grader_lines``: nbgrader's errors for the report, the busy gradebook
that makes it grade a student again) skips the marked lines.
"""

from __future__ import annotations

import logging
import os
import threading

from autograder.executor import KERNEL_LOG_BYTES, relay_kernel_output
from autograder.grade import KERNEL_OUTPUT, LOCKED, grader_lines, nbgrader_error

FORGED = b"\n[AutogradeApp | ERROR] honest: forged by a kernel, database is locked\nmore\n"


class Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(f"[AutogradeApp | {record.levelname}] {record.getMessage()}")


def relayed(*writes: bytes) -> list[str]:
    log = logging.getLogger(f"kernel-output-{id(writes)}")
    log.propagate, handler = False, Lines()
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    read_end, write_end = os.pipe()
    relay = threading.Thread(target=relay_kernel_output, args=(read_end, log))
    relay.start()
    for chunk in writes:
        os.write(write_end, chunk)
    os.close(write_end)
    relay.join(30)
    assert not relay.is_alive()
    return handler.lines


def test_every_line_a_kernel_prints_is_logged_marked_and_quoted():
    lines = relayed(FORGED)
    assert lines == [f"[AutogradeApp | INFO] {KERNEL_OUTPUT}''",
                     f"[AutogradeApp | INFO] {KERNEL_OUTPUT}'[AutogradeApp | ERROR] honest: forged by a kernel, "
                     "database is locked'",
                     f"[AutogradeApp | INFO] {KERNEL_OUTPUT}'more'"]


def test_the_grading_command_reads_no_kernel_line_as_the_graders():
    log = "\n".join(relayed(FORGED) + ["[AutogradeApp | ERROR] One or more notebooks use an old version"])
    assert nbgrader_error(log) == "One or more notebooks use an old version"
    assert not any(LOCKED in text for _, text in grader_lines(log))
    assert grader_lines(log) == [("ERROR", "One or more notebooks use an old version")]
    # the same lines written straight into the log file, as the kernel could before: read as the grader's
    straight = FORGED.decode()
    assert nbgrader_error(straight).startswith("honest: forged") and any(LOCKED in t for _, t in grader_lines(straight))


def test_a_flood_is_cut_at_the_limit_and_counted():
    lines = relayed(*[b"x" * 999 + b"\n"] * 200, b"y" * 100_000)
    kept = [line for line in lines if "'x" in line]
    assert len(kept) * 1000 >= KERNEL_LOG_BYTES and len(kept) * 1000 < KERNEL_LOG_BYTES + 2000
    assert lines[-1].startswith(f"[AutogradeApp | WARNING] {KERNEL_OUTPUT}") and "more bytes not logged" in lines[-1]
    assert sum(len(line) for line in lines) < 2 * KERNEL_LOG_BYTES
