"""Grading is deterministic: four gradings of the same submission give the same points and messages.

Through the real grading command, two at a time, on the portfolio, whose graded training part is the
least deterministic thing the grader does (a refereed run the judge recomputes step by step, then a
400-step budget run whose generator the judge scores by FID and per-class accuracy against
thresholds): four copies of a reference answer (written in the PyTorch tutorial's idioms, one D call on
real and fake joined) and four of a near miss (the same answer with Adam's default betas), each copy
graded as a separate student. The attack class (tests/test_grading_attacks.py) is also graded twice.
"""

from __future__ import annotations

import re

from tests.grading_harness import Student, class_tests
from tests.portfolio_submissions import CORRECT
from tests.test_grading_portfolio import ASSIGNMENT, NOTEBOOK, POINTS

RERUNS = 4
REFERENCE = CORRECT["tutorial"]
NEAR_MISS = dict(REFERENCE, train_cgan=REFERENCE["train_cgan"].replace("betas=(0.5, 0.999)", "betas=(0.9, 0.999)"))
assert NEAR_MISS["train_cgan"] != REFERENCE["train_cgan"]
NEAR_MISS_POINTS = {gid: p for gid, p in POINTS.items() if gid != "test_train_cgan"}

CLASS = {
    **{f"reference_{i:02d}": Student(answers=REFERENCE) for i in range(RERUNS)},
    **{f"near_miss_{i:02d}": Student(answers=NEAR_MISS, expected=NEAR_MISS_POINTS) for i in range(RERUNS)},
}

globals().update(class_tests(ASSIGNMENT, NOTEBOOK, CLASS, POINTS, cell_timeout=90, student_timeout=600))


def _messages(report: str, student: str) -> list[str]:
    block = re.search(rf"^{student}: .*?(?=^\S|\Z)", report, re.MULTILINE | re.DOTALL)
    assert block, student
    return [line.strip() for line in block.group(0).splitlines()[1:]]


def test_every_copy_gets_the_same_points_and_the_same_messages(graded):
    scores = graded.scores()
    for kind in ("reference", "near_miss"):
        copies = [f"{kind}_{i:02d}" for i in range(RERUNS)]
        assert len({tuple(sorted(scores[c].items())) for c in copies}) == 1, {c: scores[c] for c in copies}
        assert len({tuple(_messages(graded.report, c)) for c in copies}) == 1


def test_the_near_miss_is_told_what_to_look_at(graded):
    assert re.search(r"betas \(0.9, 0.999\)", "\n".join(_messages(graded.report, "near_miss_00"))), graded.report
