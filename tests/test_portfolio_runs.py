"""The portfolio's report quotes measured runs of its reference solution (results/portfolio_runs.json, written
by scripts/portfolio_runs.py, which runs the whole solution notebook from the top and times it): every number
its model answers and its time statement quote must be the record's, at the printed precision, and the record
must come from the notebook as it is."""

from __future__ import annotations

import json

import nbformat
import numpy as np

from tests.conftest import REPO

RECORD = json.loads((REPO / "results" / "portfolio_runs.json").read_text())
SOLUTION = nbformat.read(REPO / "solutions" / "portfolio_cgan" / "portfolio.ipynb", as_version=4)
HEALTHY, ABLATION = RECORD["healthy"], RECORD["ablation"]
BOOK_PAGE = (REPO / "book" / "portfolio.md").read_text()


def cell(grade_id: str) -> str:
    return next(c.source for c in SOLUTION.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def code_cell_with(text: str) -> str:
    return next(c.source for c in SOLUTION.cells if c.cell_type == "code" and text in c.source)


def runs(setting: str) -> list[dict]:
    return RECORD["settings"][setting]


def mean(setting: str, measure: str) -> float:
    return float(np.mean([r[measure] for r in runs(setting)]))


def sd(setting: str, measure: str) -> float:
    return float(np.std([r[measure] for r in runs(setting)], ddof=1))


def per_class(setting: str) -> np.ndarray:
    return np.array([r["per_class_accuracy"] for r in runs(setting)])


def minutes_and_seconds(seconds: float) -> str:
    return f"{int(seconds // 60)} min {int(round(seconds % 60))} s"


def test_the_record_comes_from_the_notebook_as_it_is():
    experiments = code_cell_with("def run_setting")
    assert f"WIDTH = 8 if FAST else {RECORD['width']}" in experiments
    assert f"else {RECORD['steps']})" in experiments and f"SEEDS = {tuple(RECORD['seeds'])}" in experiments
    assert f'FIX = "{RECORD["fix"]}"' in cell("train_cgan")
    assert f'ABLATION = "{ABLATION}"' in cell("ablation")
    assert RECORD["device"] == "cpu" and RECORD["cpus"] == 2 and RECORD["runs"] == 7


def test_the_whole_notebook_runs_within_fifteen_minutes_and_says_how_long_it_took():
    assert RECORD["notebook_seconds"] <= 15 * 60, RECORD["notebook_seconds"]
    stated = minutes_and_seconds(RECORD["notebook_seconds"])
    intro = SOLUTION.cells[0].source.replace("\n", " ")
    assert f"took {stated} on a 2-core CPU (it trains {RECORD['runs']} small cGANs" in intro, stated
    assert RECORD["runs"] == 7 and f"took {stated} on a two-core CPU" in BOOK_PAGE.replace("\n", " ")
    assert "whole notebook trains seven small cGANs" in BOOK_PAGE.replace("\n", " ")


def spread(setting: str, measure: str, decimals: int) -> str:
    return f"{mean(setting, measure):.{decimals}f} ± {sd(setting, measure):.{decimals}f}"


def span(setting: str, measure: str, decimals: int = 2) -> str:
    values = [r[measure] for r in runs(setting)]
    return f"{min(values):.{decimals}f} to {max(values):.{decimals}f}"


def test_part_4_quotes_the_healthy_losses():
    answer = cell("reading_loss_curves").replace("\n", " ")
    g_peaks = [r["g_loss_max"] for r in runs(HEALTHY)]
    assert (f"(to between {min(g_peaks):.2f} and {max(g_peaks):.2f} in the three seeds, within the first 300 "
            "steps)") in answer
    assert all(r["g_loss_max_step"] < 300 for r in runs(HEALTHY))
    assert f"ends at {span(HEALTHY, 'd_loss_last')} and $\\mathcal{{L}}_G$ at {span(HEALTHY, 'g_loss_last')}" in answer
    assert f"({span(HEALTHY, 'fid', 1)})" in answer
    fids = [r["fid"] for r in runs(HEALTHY)]
    assert 0.2 < (max(fids) - min(fids)) / max(fids) < 0.3  # "differ by a quarter"


def test_part_5_quotes_the_seeds_and_their_spread():
    answer = cell("seeds_and_error_bars").replace("\n", " ")
    first, second, third = (f"{r['fid']:.1f}" for r in runs(HEALTHY))
    assert f"FID is {spread(HEALTHY, 'fid', 1)} ({first}, {second} and {third})" in answer
    assert f"mean per-class accuracy is {spread(HEALTHY, 'mean_accuracy', 2)}" in answer
    accuracy = per_class(HEALTHY)
    weakest = [f"{int(row.argmin())} in seed {r['seed']} ({row.min():.2f})" for row, r in zip(accuracy, runs(HEALTHY))]
    assert "The weakest digit is not the same in every seed: " + ", ".join(weakest) in answer, weakest
    assert len({int(row.argmin()) for row in accuracy}) == 3
    assert all(int(row.argmax()) == 0 for row in accuracy) and accuracy[:, 0].min() >= 0.94
    widest = np.argsort(accuracy.std(axis=0, ddof=1))[-2:]
    assert sorted(widest.tolist()) == [7, 8]
    bars = accuracy.std(axis=0, ddof=1)
    assert f"the per-class bars of 7 and 8 are the widest (± {bars[7]:.2f} and ± {bars[8]:.2f})" in answer


def test_part_6_quotes_the_ablation_and_says_it_is_inside_the_spread():
    answer = cell("your_ablation").replace("\n", " ")
    assert ABLATION == "no fix"
    assert (f"Without replay the FID is {spread(ABLATION, 'fid', 1)} and the mean per-class accuracy "
            f"{spread(ABLATION, 'mean_accuracy', 2)}, against {spread(HEALTHY, 'fid', 1)} and "
            f"{spread(HEALTHY, 'mean_accuracy', 2)} with it") in answer
    # "a little better, but inside the spread": lower mean FID, and the gap smaller than either setting's sd
    gap = mean(HEALTHY, "fid") - mean(ABLATION, "fid")
    assert 0 < gap < min(sd(HEALTHY, "fid"), sd(ABLATION, "fid"))
    assert abs(mean(HEALTHY, "mean_accuracy") - mean(ABLATION, "mean_accuracy")) < sd(ABLATION, "mean_accuracy")
    assert (f"$\\mathcal{{L}}_D$ ends at {span(ABLATION, 'd_loss_last')} instead of "
            f"{span(HEALTHY, 'd_loss_last')}") in answer.replace("\n", " ")


def test_part_7_quotes_the_walk():
    answer = cell("within_class_interpolation").replace("\n", " ")
    walk = RECORD["interpolation"]
    kept_rows = np.round(np.array(walk["per_digit"]) * 10).astype(int)
    assert f"reads {walk['kept']:.0%}".replace("%", " %") in answer
    assert sum(kept_rows >= 9) == 9 and kept_rows[8] == 3
    assert "nine rows keep their digit in at least 9 of 10 images, but the row of 8s keeps it in only 3 of 10" in answer
    assert f"this seed (accuracy {runs(HEALTHY)[0]['per_class_accuracy'][8]:.2f})" in answer


def test_part_9_summary_quotes_the_same_numbers():
    answer = cell("summary").replace("\n", " ")
    assert f"{spread(HEALTHY, 'mean_accuracy', 2)} of its samples" in answer
    assert f"FID of {spread(HEALTHY, 'fid', 1)}" in answer
    assert f"keeps the digit in {RECORD['interpolation']['kept']:.0%}".replace("%", " %") in answer
    assert f"the FID was {spread(ABLATION, 'fid', 1)}" in answer
    assert "broke one seed of three" in answer  # results/portfolio_divergence.json, tests/test_portfolio_divergence.py
