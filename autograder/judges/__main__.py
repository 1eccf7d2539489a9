"""The judge process: ``python -m autograder.judges <assignment>``, probe data on stdin, verdicts on stdout.

Started by nbgrader's autograde (autograder/judge.py) once per notebook, with limits on memory and
time, as the notebook starts running (so that its imports overlap with the execution); it waits for
the probes' data, a JSON object {part: {"npz": ...}}, and answers {part: {"passed", "message"}}. It
imports only torch, NumPy and the judges, and never runs student code.
"""

from __future__ import annotations

import json
import sys


def main(argv: list[str] | None = None) -> int:
    """Judge each part's probe data (read from stdin) and print the verdicts as JSON."""
    import torch

    from autograder.judges import Verdict, judge_record
    from autograder.probes.record import Record

    (assignment,) = argv if argv is not None else sys.argv[1:]
    torch.set_num_threads(1)
    # Memory that an operation hands out unwritten (torch.empty, resize_) is filled with NaN or the largest
    # integer, never left as what the process held before: the student's traced graphs run here, and whatever
    # they compute may reach a message. Operations without a deterministic kernel only warn.
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.utils.deterministic.fill_uninitialized_memory = True
    probes = json.loads(sys.stdin.read() or "{}")
    verdicts = {}
    for part, payload in probes.items():
        try:
            record = Record.decode(payload["npz"])
        except Exception as err:  # noqa: BLE001 - unreadable data earns nothing
            verdict = Verdict(False, f"[{part}] the grader could not read the data sent for this part "
                                     f"({type(err).__name__}).")
        else:
            verdict = judge_record(assignment, part, record)
        verdicts[part] = {"passed": verdict.passed, "message": verdict.message}
    sys.stdout.write(json.dumps(verdicts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
