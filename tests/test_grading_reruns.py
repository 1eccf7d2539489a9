"""Grading is deterministic: ten gradings of the same submission give the same points and messages.

Through the real grading command, two at a time: ten copies of a reference answer and ten of a near
miss (one small mistake) of assignment 3, each copy graded as a separate student.
"""

from __future__ import annotations

import re

from tests.a3_submissions import CORRECT, WRONG
from tests.grading_harness import Student, class_tests
from tests.test_grading_a3 import ASSIGNMENT, NOTEBOOK, POINTS

RERUNS = 10
NEAR_MISS = {**CORRECT["sequential"], "DCGANDiscriminator": WRONG["DCGANDiscriminator"]["default_leaky_slope"]}
NEAR_MISS_POINTS = {gid: p for gid, p in POINTS.items() if gid != "test_DCGANDiscriminator"}

CLASS = {
    **{f"reference_{i:02d}": Student(answers=CORRECT["sequential"]) for i in range(RERUNS)},
    **{f"near_miss_{i:02d}": Student(answers=NEAR_MISS, expected=NEAR_MISS_POINTS) for i in range(RERUNS)},
}

globals().update(class_tests(ASSIGNMENT, NOTEBOOK, CLASS, POINTS))


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
