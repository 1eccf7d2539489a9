"""The judge process: ``python -m autograder.judges <assignment> <probes.json> <verdicts.json>``.

Started by nbgrader's autograde (autograder/judge.py) once per notebook, with limits on memory and
time; it imports only torch, NumPy and the judges, and never runs student code.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """python -m autograder.judges <assignment> <probes.json> <verdicts.json>: judge each part's probe data."""
    import torch

    from autograder.judges import Verdict, judge_record
    from autograder.probes.record import Record

    assignment, source, target = argv if argv is not None else sys.argv[1:]
    torch.set_num_threads(1)
    verdicts = {}
    for part, payload in json.loads(Path(source).read_text()).items():
        try:
            record = Record.decode(payload["npz"])
        except Exception as err:  # noqa: BLE001 - unreadable data earns nothing
            verdict = Verdict(False, f"[{part}] the grader could not read the data sent for this part "
                                     f"({type(err).__name__}).")
        else:
            verdict = judge_record(assignment, part, record)
        verdicts[part] = {"passed": verdict.passed, "message": verdict.message}
    Path(target).write_text(json.dumps(verdicts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
