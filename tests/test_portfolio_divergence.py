"""The portfolio's written parts quote measured runs (results/portfolio_divergence.json, written by
scripts/portfolio_divergence.py); every number they quote must be the record's, at the printed precision."""

from __future__ import annotations

import json

import nbformat
import pytest

from tests.conftest import REPO

RECORD = json.loads((REPO / "results" / "portfolio_divergence.json").read_text())
RUNS = RECORD["runs"]
SOLUTION = nbformat.read(REPO / "solutions" / "portfolio_cgan" / "portfolio.ipynb", as_version=4)
HEALTHY, SEED1, SEED2, SEED3, TINY = ("healthy: lr 1e-3, seed 0", "lr 2e-2, seed 1", "lr 2e-2, seed 2",
                                      "lr 2e-2, seed 3", "no fix, batch 8, seed 1")


def cell(grade_id: str) -> str:
    return next(c.source for c in SOLUTION.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


# (run, measure, the text as the model answer prints it)
QUOTED = [
    (HEALTHY, "d_loss_last", r"\mathcal{L}_D \approx 1.13"), (HEALTHY, "g_loss_last", r"\mathcal{L}_G \approx 0.84"),
    (HEALTHY, "fid", "FID 88.7"), (HEALTHY, "mean_accuracy", "accuracy 0.81"),
    (SEED1, "g_loss_max", "peaked at 13.2"), (SEED3, "g_loss_max", "and 23.3)"),
    (SEED1, "fid", "FID 87.2"), (SEED3, "fid", "and 54.6"),
    (SEED1, "mean_accuracy", "accuracy 0.86"), (SEED3, "mean_accuracy", "and 0.88"),
    (TINY, "fid", "FID 262.1"), (TINY, "mean_accuracy", "accuracy 0.54"),
    (SEED2, "d_loss_last", r"$\mathcal{L}_D$ is 0.00"), (SEED2, "g_loss_last", "about 11.9"),
    (SEED2, "fid", "FID 3,691"), (SEED2, "mean_accuracy", "only 0.20"),
]


@pytest.mark.parametrize("run, measure, quoted", QUOTED, ids=[f"{r}-{m}" for r, m, _ in QUOTED])
def test_each_number_the_model_answer_quotes_is_the_measured_one(run, measure, quoted):
    answer = cell("diverging_run")
    assert quoted in answer, f"the model answer no longer says {quoted!r}"
    printed = quoted.replace(",", "").rstrip(")").split()[-1]
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    assert f"{RUNS[run][measure]:.{decimals}f}" == printed, (run, measure, RUNS[run][measure], quoted)


def test_the_answer_says_which_seeds_broke_as_measured():
    broke = [name for name in (SEED1, SEED2, SEED3) if RUNS[name]["d_loss_last"] < 0.05]
    assert broke == [SEED2]
    assert "one run of three broke: seed 2" in cell("diverging_run")


def test_the_record_used_the_budget_a_student_gets_on_a_cpu():
    experiments = next(c.source for c in SOLUTION.cells if c.cell_type == "code" and "def run_setting" in c.source)
    assert f"WIDTH = 8 if FAST else {RECORD['width']}" in experiments
    assert f"else {RECORD['steps']})" in experiments and RECORD["device"] == "cpu"


def test_the_student_chooses_the_setting_that_breaks_the_game():
    """The diverging cell is empty in the student's notebook; the reference runs the setting the answer quotes."""
    exercise = nbformat.read(REPO / "exercises" / "portfolio_cgan" / "portfolio.ipynb", as_version=4)
    given = next(c.source for c in exercise.cells
                 if c.metadata.get("nbgrader", {}).get("grade_id") == "make_it_diverge")
    assert given.strip() == "# YOUR CODE HERE\nraise NotImplementedError()", given
    assert 'run_setting("lr 2e-2", lr=2e-2, seeds=(2,))' in cell("make_it_diverge")
