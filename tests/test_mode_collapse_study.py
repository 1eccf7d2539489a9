"""The mode-collapse study script runs end to end and writes the files chapter 5 reads."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import numpy as np

from tests.conftest import REPO

METHODS = {"vanilla", "experience_replay", "minibatch_discrimination", "minibatch_stddev", "pacgan2", "pacgan4",
           "wgan_clip", "wgan_gp"}
DATASETS = {"ring8": 8, "grid25": 25}


def _read_csv(path):
    with path.open() as f:
        return list(csv.DictReader(f))


def _study(out, *extra):
    proc = subprocess.run([sys.executable, "scripts/mode_collapse_study.py", "--quick", "--device", "cpu",
                           "--out", str(out), *extra], cwd=REPO, capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc.stdout


def test_quick_study_writes_runs_summary_samples_and_meta(tmp_path):
    out = tmp_path / "study"
    _study(out)

    runs = _read_csv(out / "runs.csv")
    assert set(runs[0]) >= {"dataset", "method", "seed", "modes", "total_modes", "high_quality_pct", "seconds"}
    assert {(r["dataset"], r["method"]) for r in runs} == {(d, m) for d in DATASETS for m in METHODS}
    for r in runs:
        assert 0 <= int(r["modes"]) <= DATASETS[r["dataset"]] == int(r["total_modes"])
        assert 0.0 <= float(r["high_quality_pct"]) <= 100.0

    summary = _read_csv(out / "summary.csv")
    assert set(summary[0]) >= {"dataset", "method", "n_seeds", "modes_mean", "modes_std", "high_quality_pct_mean",
                               "high_quality_pct_std"}
    assert len(summary) == len(DATASETS) * len(METHODS)

    with np.load(out / "samples.npz") as samples:
        for d in DATASETS:
            for m in [*METHODS, "real"]:
                x = samples[f"{d}/{m}"]
                assert x.shape == (2500, 2) and np.isfinite(x).all()

    meta = json.loads((out / "meta.json").read_text())
    assert {"device", "seeds", "steps", "torch", "wall_seconds", "train_seconds_per_dataset_method",
            "command"} <= set(meta)
    assert meta["device"] == "cpu" and meta["seeds"] == [0]
    assert "--quick" in meta["command"]


def test_an_interrupted_study_resumes_and_reproduces_the_lost_run(tmp_path):
    out = tmp_path / "study"
    _study(out, "--methods", "vanilla", "minibatch_stddev")
    first = (out / "runs.csv").read_text()
    # Lose one finished run, as if the study had been stopped while it trained.
    lost = out / "runs" / "grid25__minibatch_stddev__0.npz"
    lost.unlink()
    stdout = _study(out, "--methods", "vanilla", "minibatch_stddev")
    assert "3 of 4 runs were already done" in stdout
    assert lost.exists()
    # Seeded runs repeat exactly: the retrained run gives the same modes and the same share of good samples.
    strip = lambda text: [line.rsplit(",", 1)[0] for line in text.splitlines()]  # noqa: E731 (drop the seconds column)
    assert strip((out / "runs.csv").read_text()) == strip(first)
