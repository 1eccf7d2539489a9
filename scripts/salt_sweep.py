"""Does the grading salt ever fail a correct answer or pass a wrong one? A sweep over many salts.

    python scripts/salt_sweep.py                        # 12 salts, every assignment, 2 worker processes
    python scripts/salt_sweep.py --salts 30 --assignments a2 a5 --out results/salt_sweep.json

While a submission is graded, every input the probes and the judges draw depends on a salt made from
the submission (``autograder.probes.salted``), and so do some requests: a3's layer sizes, a5's
thresholds, a2's flip rates and the order of its diagnoses. The test suite judges its fixture answers
without a salt, and grades its classes with one fixed secret. This sweep judges every fixture of
``tests/test_grading_<assignment>.py`` (the correct answers written differently, which must all pass,
and the usual mistakes, which must all fail), plus the portfolio's training loops on a shortened
budget, in this process, under ``--salts`` salts that are not the ones the tests use.

It prints, per assignment, the judgements made and every one that went the wrong way (a correct
answer failed, or a mistake passed), with the judge's message, and writes them as JSON. It exits 1 if
any went the wrong way. It is a measurement, run by hand before a release (about 90 s of CPU a salt):
the README records its last result. The statistical checks' false-failure rates, which no sweep of a
few dozen salts can measure, are computed in tests/test_false_failure_rates.py.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import importlib
import json
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

ASSIGNMENTS = ["a1", "a2", "a3", "a4", "a5", "a6", "a7", "portfolio"]


def sweep_salt(index: int) -> str:
    """The index-th salt of the sweep: 32 hex digits, like a real one, and never one the tests use."""
    return hashlib.sha256(f"salt sweep {index}".encode()).hexdigest()[:32]


def cases(name: str) -> list[tuple[str, str, str, bool, str]]:
    """(kind, part, label, must_pass, source) of every fixture judgement of one assignment's test module."""
    module = importlib.import_module(f"tests.test_grading_{name}")
    correct = getattr(module, "JUDGED_ANSWERS", module.CORRECT)
    wrong = module.WRONG
    found = [("answer", part, variant, True, correct[variant][part])
             for variant in sorted(correct) for part in sorted(correct[variant])]
    found += [("answer", part, mistake, False, wrong[part][mistake]) for part in sorted(wrong)
              for mistake in sorted(wrong[part]) if not (name == "portfolio" and part == "train_cgan")]
    if name == "portfolio":
        found += [("training", "train_cgan", variant, True, module.CORRECT[variant]["train_cgan"])
                  for variant in sorted(module.CORRECT)]
        found += [("training", "train_cgan", mistake, False, source)
                  for mistake, source in sorted(wrong["train_cgan"].items())]
    return found


def judge_case(name: str, kind: str, part: str, label: str, source: str):
    """The verdict on one fixture, probed and judged in this process under the salt now in the environment."""
    from tests.grading_harness import judged

    module = importlib.import_module(f"tests.test_grading_{name}")
    if kind == "training":  # the budget run shrunk, as the fast tests shrink it: the mechanics are what is salted
        variant = label if label in module.CORRECT else "planes"  # a correct loop runs with its own networks
        return module.judged_training(module.namespace_until("train_cgan", source, variant))
    return judged(module.ASSIGNMENT, part, module.define(part, source))


def sweep_one_salt(index: int, names: list[str]) -> dict:
    """Judge every fixture of ``names`` under the index-th salt; the judgements that went the wrong way."""
    import torch

    from autograder.probes import SALT

    torch.set_num_threads(1)
    os.environ[SALT] = sweep_salt(index)
    shrink_the_budget_run()
    wrong_way, judged_count, start = [], 0, time.perf_counter()
    for name in names:
        for kind, part, label, must_pass, source in cases(name):
            try:
                verdict = judge_case(name, kind, part, label, source)
                passed, message = verdict.passed, verdict.message
            except Exception as error:  # noqa: BLE001 - a crash of the probe or the judge is a finding too
                passed, message = False, f"{type(error).__name__}: {error}"
            judged_count += 1
            if passed != must_pass:
                wrong_way.append({"assignment": name, "part": part, "fixture": label, "salt": sweep_salt(index),
                                  "should": "pass" if must_pass else "fail", "message": message})
    return {"salt": sweep_salt(index), "judged": judged_count, "wrong_way": wrong_way,
            "seconds": time.perf_counter() - start}


@functools.cache
def shrink_the_budget_run() -> None:
    """What tests/test_grading_portfolio.py's ``short_budget`` fixture does: a few steps, thresholds any
    finite result meets. The full budget run is not salted, so the sweep need not repeat it."""
    from autograder.judges import portfolio as judges
    from autograder.probes import portfolio as probes

    probes.BUDGET["steps"] = 5
    judges.thresholds = lambda: {"fid_max": math.inf, "mean_accuracy_min": 0.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--salts", type=int, default=12)
    parser.add_argument("--assignments", nargs="+", default=ASSIGNMENTS, choices=ASSIGNMENTS)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=REPO / "results" / "salt_sweep.json")
    args = parser.parse_args()

    start = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        results = list(pool.map(sweep_one_salt, range(args.salts), [args.assignments] * args.salts))
    per_assignment = {name: len(cases(name)) for name in args.assignments}
    wrong_way = [w for r in results for w in r["wrong_way"]]
    for name, count in per_assignment.items():
        found = [w for w in wrong_way if w["assignment"] == name]
        print(f"{name:10s} {count:4d} fixtures x {args.salts} salts = {count * args.salts:5d} judgements, "
              f"{len(found)} the wrong way")
        for w in found:
            print(f"    {w['part']} / {w['fixture']} should {w['should']} (salt {w['salt']}): {w['message'][:300]}")
    total = sum(r["judged"] for r in results)
    print(f"[measured] {total} judgements under {args.salts} salts in {time.perf_counter() - start:.0f} s "
          f"({args.jobs} jobs): {len(wrong_way)} went the wrong way")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"salts": args.salts, "fixtures": per_assignment, "judgements": total,
                                    "wrong_way": wrong_way}, indent=1) + "\n")
    return 1 if wrong_way else 0


if __name__ == "__main__":
    sys.exit(main())
