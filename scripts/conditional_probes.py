"""Single-seed probes of the conditional models' full training budget (4,000 steps): what an average of G,
and a few changes, buy for the cGAN's and the ACGAN's label accuracy and for InfoGAN's code purity.

    python scripts/conditional_probes.py cgan acgan                 # each to 4,000 steps, seed 0, two at a time
    python scripts/conditional_probes.py infogan+nodrop --steps 500 --out /tmp/probes   # a quick check

The models are trained as scripts/train_models.py trains them (the DCGAN init, batch 64, Adam 2e-4 with betas
0.5 / 0.999, the 4,000 training digits with their labels, one torch thread), with three exponential moving
averages of G beside each run (decays 0.99, 0.995, 0.999, as scripts/budget_probes.py keeps for the DCGAN).
A probe is a model, optionally joined with changes by ``+`` (``CHANGES``). Every ``--every`` steps, ``--samples``
(2,000) samples from fixed latents of G and of each average (a tenth per label or code; InfoGAN's continuous codes at 0)
are scored by the course classifier: label accuracy (cGAN, ACGAN: the share classified as the digit asked
for) or code purity (InfoGAN: the share classified as the digit paired with their code, one digit per
code, ``classifier.code_purity``), and the confident share. Chapter 6's goals: label accuracy 97 %, purity 90 %.

Each probe is one seed: a screen for a change large enough to be worth a three-seed ablation. Each run is
written to ``<out>/<probe>_seed<k>.json``; an existing one is kept. The checks so far are in
``<probe>_seed<k>.partial.json`` while it runs, and stay there if it is stopped.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from budget_probes import EMA_DECAYS, SAMPLES, screen  # noqa: E402

from gancourse import classifier, conditional, data, pretrained, small_data  # noqa: E402
from gancourse.nets import dcgan_weights_init  # noqa: E402

MODELS = ("cgan", "acgan", "infogan")
CHANGES = {
    "nodrop": "D without dropout",
    "glr1e3": "Adam 1e-3 for G (D keeps 2e-4)",
    "info2": "InfoGAN's information term weighted 2 instead of 1",
    "r1": "the R1 penalty (gamma 1) on D's real batch (cGAN and ACGAN), as the shipped DCGAN is trained",
    "adam0": "Adam betas 0 / 0.99 for both players (the shipped DCGAN's)",
}


def parts_of(probe: str) -> tuple[str, list[str]]:
    model, *changes = probe.split("+")
    if model not in MODELS:
        raise ValueError(f"a probe starts with a model, one of {MODELS}; got {model!r}")
    unknown = [c for c in changes if c not in CHANGES]
    if unknown:
        raise ValueError(f"unknown change(s) {unknown}; known: {sorted(CHANGES)}")
    if "info2" in changes and model != "infogan":
        raise ValueError("info2 changes InfoGAN's information term; the cGAN and the ACGAN have none")
    if "r1" in changes and model == "infogan":
        raise ValueError("r1 is for the cGAN and the ACGAN (train_conditional(r1_gamma=...))")
    return model, changes


def score(model: str, net: torch.nn.Module, judge: torch.nn.Module, samples: int = SAMPLES) -> dict:
    """The label accuracy (or code purity) and the confident share of ``samples`` fixed-latent samples of ``net``."""
    scores = classifier.label_control(model, net, judge, n=samples, seed=123)
    return {key: round(value, 3) if isinstance(value, float) else value for key, value in scores.items()}


def players(model: str, changes: list[str], seed: int):
    """G, D and their optimizers as scripts/train_models.py makes them, with ``changes`` applied."""
    torch.manual_seed(seed)
    generator_cls, discriminator_cls = pretrained.BUILDERS[model]
    G, D = generator_cls(), discriminator_cls(dropout=0.0 if "nodrop" in changes else 0.3)
    G.apply(dcgan_weights_init)
    D.apply(dcgan_weights_init)
    betas = (0.0, 0.99) if "adam0" in changes else (0.5, 0.999)
    g_opt = torch.optim.Adam(G.parameters(), lr=1e-3 if "glr1e3" in changes else 2e-4, betas=betas)
    d_opt = torch.optim.Adam(D.parameters(), lr=2e-4, betas=betas)
    return G, D, g_opt, d_opt


def run(probe: str, seed: int, steps: int, every: int, out: Path, samples: int = SAMPLES) -> list[dict]:
    path = out / f"{probe}_seed{seed}.json"
    if path.exists():
        return json.loads(path.read_text())["checks"]
    torch.set_num_threads(1)
    model, changes = parts_of(probe)
    (images, labels), _ = data.split_held_out(*data.load_mnist_embedded())
    judge = classifier.load_course_classifier("cpu")
    G, D, g_opt, d_opt = players(model, changes, seed)
    averages = {decay: small_data.ema_of(G, decay) for decay in EMA_DECAYS}
    checks: list[dict] = []
    start = time.perf_counter()

    def after_round(step: int, record: dict) -> None:
        for average in averages.values():
            average.update_parameters(G)
        if (step + 1) % every == 0:
            row = {"step": step + 1, "seconds": round(time.perf_counter() - start)}
            for name, net in [("G", G)] + [(f"EMA {decay}", avg.module) for decay, avg in averages.items()]:
                row[name] = score(model, net, judge, samples)
            checks.append(row)
            print(probe, seed, row, flush=True)
            write(out / f"{probe}_seed{seed}.partial.json", probe, changes, seed, steps, samples, checks)

    conditional.train_conditional(model, G, D, images, labels, steps=steps, device="cpu", seed=seed, progress=False,
                                  callback=after_round, g_opt=g_opt, d_opt=d_opt,
                                  info_weight=2.0 if "info2" in changes else 1.0,
                                  r1_gamma=1.0 if "r1" in changes else 0.0)
    write(path, probe, changes, seed, steps, samples, checks)
    (out / f"{probe}_seed{seed}.partial.json").unlink(missing_ok=True)
    return checks


def write(path: Path, probe: str, changes: list[str], seed: int, steps: int, samples: int, checks: list[dict]) -> None:
    """The run's record so far; a run stopped early leaves its checks in ``<probe>_seed<k>.partial.json``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"probe": probe, "what": [CHANGES[c] for c in changes], "seed": seed,
                                "steps": steps, "samples": samples, "torch": torch.__version__,
                                "checks": checks}, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    for probe, checks in screen(argv, __doc__, Path("results/small_data/conditional_probes"), parts_of, run):
        last = checks[-1]
        print(f"{probe:>16} step {last['step']}: " + "; ".join(
            f"{name} " + ", ".join(f"{k} {v}" for k, v in scores.items())
            for name, scores in last.items() if isinstance(scores, dict)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
