"""Student answers for assignment 2 (the troubles of training), as test fixtures: correct ones written
differently, the usual mistakes, and borrowed library objects. Each answer is the source of one answer
cell; the notebook's setup cell provides math, numpy as np, torch and torch.nn.functional as F."""

# --- correct answers, written in different ways -------------------------------------------------

# softplus on logits, torch.where on a uniform draw, plain Python means over the last floor(tail * steps).
SOFTPLUS = {
    "smoothed_discriminator_loss": """
def smoothed_discriminator_loss(real_logits, fake_logits, real_target=0.9):
    real_term = real_target * F.softplus(-real_logits) + (1.0 - real_target) * F.softplus(real_logits)
    return real_term.mean() + F.softplus(fake_logits).mean()
""",
    "flipped_labels": """
def flipped_labels(n, label, flip_prob, generator=None):
    flip = torch.rand(n, generator=generator) < flip_prob
    labels = torch.full((n,), float(label))
    return torch.where(flip, 1.0 - labels, labels)
""",
    "diagnose_history": """
def diagnose_history(d_losses, g_losses, tail=0.25):
    k = max(1, int(tail * len(d_losses)))
    if sum(d_losses[-k:]) / k < math.log(2):
        return "d-wins"
    if sum(g_losses[-k:]) / k < math.log(2) / 2:
        return "g-wins"
    return "healthy"
""",
}

# BCE with logits against target tensors, a Bernoulli draw per label with the flip as |label - flip|,
# NumPy and a tail of ceil(tail * steps): any reasonable reading of "the last quarter" passes.
BCE = {
    "smoothed_discriminator_loss": """
def smoothed_discriminator_loss(real_logits, fake_logits, real_target=0.9):
    real_targets = torch.full_like(real_logits, real_target)
    fake_targets = torch.zeros_like(fake_logits)
    return (F.binary_cross_entropy_with_logits(real_logits, real_targets)
            + F.binary_cross_entropy_with_logits(fake_logits, fake_targets))
""",
    "flipped_labels": """
def flipped_labels(n, label, flip_prob, generator=None):
    flips = torch.bernoulli(torch.full((n,), float(flip_prob)), generator=generator)
    return (label - flips).abs()
""",
    "diagnose_history": """
def diagnose_history(d_losses, g_losses, tail=0.25):
    k = math.ceil(len(d_losses) * tail)
    d_mean = np.mean(np.asarray(d_losses)[-k:])
    g_mean = np.mean(np.asarray(g_losses)[-k:])
    verdict = "healthy"
    if g_mean < 0.5 * np.log(2):
        verdict = "g-wins"
    if d_mean < np.log(2):
        verdict = "d-wins"
    return verdict
""",
}

# logsigmoid, flips as label + flip modulo 2 with the draw above 1 - flip_prob, torch and the library's
# checks on its arguments (ValueError for a target or probability outside [0, 1]).
LOGSIGMOID = {
    "smoothed_discriminator_loss": """
def smoothed_discriminator_loss(real_logits, fake_logits, real_target=0.9):
    if not 0 <= real_target <= 1:
        raise ValueError("real_target is a probability")
    # log(1 - sigmoid(t)) = logsigmoid(-t)
    real_term = -(real_target * F.logsigmoid(real_logits) + (1 - real_target) * F.logsigmoid(-real_logits))
    fake_term = -F.logsigmoid(-fake_logits)
    return torch.mean(real_term) + torch.mean(fake_term)
""",
    "flipped_labels": """
def flipped_labels(n, label, flip_prob, generator=None):
    if not 0 <= flip_prob <= 1:
        raise ValueError("flip_prob is a probability")
    u = torch.rand(n, generator=generator)
    return torch.remainder(label + (u > 1 - flip_prob).float(), 2.0)
""",
    "diagnose_history": """
def diagnose_history(d_losses, g_losses, tail=0.25):
    d, g = torch.tensor(d_losses, dtype=torch.float64), torch.tensor(g_losses, dtype=torch.float64)
    if len(d) == 0 or len(d) != len(g):
        raise ValueError("one loss of each per step")
    k = max(1, round(tail * len(d)))
    equilibrium_d, equilibrium_g = 2 * math.log(2), math.log(2)
    if d[-k:].mean() < equilibrium_d / 2:
        return "d-wins"
    elif g[-k:].mean() < equilibrium_g / 2:
        return "g-wins"
    else:
        return "healthy"
""",
}

# The PyTorch DCGAN tutorial's idioms: a BCEWithLogitsLoss criterion and label tensors made with
# torch.full; labels filled in place through a mask from uniform_; statistics.fmean over a slice.
TUTORIAL = {
    "smoothed_discriminator_loss": """
import torch.nn as nn

criterion = nn.BCEWithLogitsLoss()

def smoothed_discriminator_loss(real_logits, fake_logits, real_target=0.9):
    real_label = torch.full((real_logits.size(0),), real_target, dtype=torch.float)
    fake_label = torch.full((fake_logits.size(0),), 0.0, dtype=torch.float)
    errD_real = criterion(real_logits, real_label)
    errD_fake = criterion(fake_logits, fake_label)
    return errD_real + errD_fake
""",
    "flipped_labels": """
def flipped_labels(n, label, flip_prob, generator=None):
    labels = torch.full((n,), label, dtype=torch.float)
    flip_mask = torch.empty(n).uniform_(0, 1, generator=generator) < flip_prob
    labels[flip_mask] = 1 - label
    return labels
""",
    "diagnose_history": """
import statistics

LOG_2 = math.log(2)

def diagnose_history(d_losses, g_losses, tail=0.25):
    last = max(1, math.floor(len(d_losses) * tail))
    d_mean = statistics.fmean(d_losses[len(d_losses) - last:])
    g_mean = statistics.fmean(g_losses[len(g_losses) - last:])
    if d_mean < LOG_2:
        return "d-wins"
    return "g-wins" if g_mean < LOG_2 / 2 else "healthy"
""",
}

CORRECT = {"softplus": SOFTPLUS, "bce": BCE, "logsigmoid": LOGSIGMOID, "tutorial": TUTORIAL}


def _edit(source: str, old: str, new: str) -> str:
    assert old in source, old
    return source.replace(old, new)


# --- the usual mistakes: each one must lose that part's points ----------------------------------
_LOSS = SOFTPLUS["smoothed_discriminator_loss"]
_FLIP = SOFTPLUS["flipped_labels"]
_DIAG = SOFTPLUS["diagnose_history"]

WRONG = {
    "smoothed_discriminator_loss": {
        "swapped_labels": """
def smoothed_discriminator_loss(real_logits, fake_logits, real_target=0.9):
    fake_term = real_target * F.softplus(-fake_logits) + (1.0 - real_target) * F.softplus(fake_logits)
    return F.softplus(real_logits).mean() + fake_term.mean()
""",
        # the "stable" cross-entropy max(x, 0) - x t + log(1 + exp(-|x|)): right values, but relu and abs pass
        # gradient 0 at a logit of exactly 0, so the gradient there is off by a half (an outside student's pass:
        # a2 had no logit 0 among its probes and gave it full marks; a1 has one)
        "kinked_at_zero": """
def smoothed_discriminator_loss(real_logits, fake_logits, real_target=0.9):
    def cross_entropy(x, t):
        return torch.relu(x) - x * t + torch.log1p(torch.exp(-x.abs()))
    return cross_entropy(real_logits, real_target).mean() + cross_entropy(fake_logits, 0.0).mean()
""",
        "sum_not_mean": _edit(_LOSS, "return real_term.mean() + F.softplus(fake_logits).mean()",
                              "return real_term.sum() + F.softplus(fake_logits).sum()"),
        "one_mean_over_both": """
def smoothed_discriminator_loss(real_logits, fake_logits, real_target=0.9):
    logits = torch.cat([real_logits, fake_logits])
    targets = torch.cat([torch.full_like(real_logits, real_target), torch.zeros_like(fake_logits)])
    return 2 * F.binary_cross_entropy_with_logits(logits, targets)
""",
        "two_sided": """
def smoothed_discriminator_loss(real_logits, fake_logits, real_target=0.9):
    real_t = torch.full_like(real_logits, real_target)
    fake_t = torch.full_like(fake_logits, 1 - real_target)
    return (F.binary_cross_entropy_with_logits(real_logits, real_t)
            + F.binary_cross_entropy_with_logits(fake_logits, fake_t))
""",
        "smooths_to_one_minus": """
def smoothed_discriminator_loss(real_logits, fake_logits, real_target=0.9):
    real_t = torch.full_like(real_logits, 1 - real_target)
    return (F.binary_cross_entropy_with_logits(real_logits, real_t)
            + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
""",
        "ignores_real_target": _edit(_LOSS, "real_term = real_target * F.softplus(-real_logits) + (1.0 - real_target)",
                                     "real_term = 0.9 * F.softplus(-real_logits) + (1.0 - 0.9)"),
        "unsmoothed": """
def smoothed_discriminator_loss(real_logits, fake_logits, real_target=0.9):
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
""",
        "naive_log_sigmoid": """
def smoothed_discriminator_loss(real_logits, fake_logits, real_target=0.9):
    d_real, d_fake = torch.sigmoid(real_logits), torch.sigmoid(fake_logits)
    real_term = -(real_target * torch.log(d_real) + (1 - real_target) * torch.log(1 - d_real))
    return real_term.mean() - torch.log(1 - d_fake).mean()
""",
        "old_parameter_name": _edit(_LOSS, "real_target=0.9):", "smooth=0.9):\n    real_target = smooth"),
        "returns_float": _edit(_LOSS, "return real_term.mean() + F.softplus(fake_logits).mean()",
                               "return (real_term.mean() + F.softplus(fake_logits).mean()).item()"),
        "detached": _edit(_LOSS, "return real_term.mean() + F.softplus(fake_logits).mean()",
                          "return (real_term.mean() + F.softplus(fake_logits).mean()).detach()"),
        "one_element_vector": _edit(_LOSS, "return real_term.mean() + F.softplus(fake_logits).mean()",
                                    "return (real_term.mean() + F.softplus(fake_logits).mean()).reshape(1)"),
        "per_sample": _edit(_LOSS, "return real_term.mean() + F.softplus(fake_logits).mean()",
                            "return real_term + F.softplus(fake_logits).mean()"),
    },
    "flipped_labels": {
        # exactly round(flip_prob * n) labels, chosen at random: not one independent draw per label
        "exact_count_of_flips": """
def flipped_labels(n, label, flip_prob, generator=None):
    k = int(round(flip_prob * n))
    idx = torch.randperm(n, generator=generator)[:k]
    out = torch.full((n,), float(label))
    out[idx] = 1.0 - float(label)
    return out
""",
        "deterministic_first_k": """
def flipped_labels(n, label, flip_prob, generator=None):
    labels = torch.full((n,), float(label))
    labels[:round(flip_prob * n)] = 1.0 - label
    return labels
""",
        "deterministic_every_kth": """
def flipped_labels(n, label, flip_prob, generator=None):
    labels = torch.full((n,), float(label))
    if flip_prob > 0:
        labels[::max(1, round(1 / flip_prob))] = 1.0 - label
    return labels
""",
        "flips_with_one_minus_p": """
def flipped_labels(n, label, flip_prob, generator=None):
    keep = torch.rand(n, generator=generator) < flip_prob
    return torch.where(keep, torch.full((n,), float(label)), torch.full((n,), 1.0 - label))
""",
        "ignores_generator": """
def flipped_labels(n, label, flip_prob, generator=None):
    flip = torch.rand(n) < flip_prob
    return torch.where(flip, 1.0 - label, float(label)).float()
""",
        "numpy_random": """
def flipped_labels(n, label, flip_prob, generator=None):
    flip = torch.from_numpy(np.random.rand(n) < flip_prob)
    return torch.where(flip, 1.0 - label, float(label)).float()
""",
        "reseeds_from_generator": """
def flipped_labels(n, label, flip_prob, generator=None):
    own = torch.Generator().manual_seed(generator.initial_seed() if generator is not None else 0)
    flip = torch.rand(n, generator=own) < flip_prob
    return torch.where(flip, 1.0 - label, float(label)).float()
""",
        "new_generator_when_none": _edit(_FLIP, "flip = torch.rand(n, generator=generator) < flip_prob",
                                         "flip = torch.rand(n, generator=generator or torch.Generator()) < flip_prob"),
        "one_draw_for_all": """
def flipped_labels(n, label, flip_prob, generator=None):
    flip = torch.rand(1, generator=generator) < flip_prob
    return torch.full((n,), float(1 - label if flip else label))
""",
        "noise_not_flips": """
def flipped_labels(n, label, flip_prob, generator=None):
    return float(label) + flip_prob * (torch.rand(n, generator=generator) - 0.5)
""",
        "boolean_labels": """
def flipped_labels(n, label, flip_prob, generator=None):
    flip = torch.rand(n, generator=generator) < flip_prob
    return flip != bool(label)
""",
        "column_of_labels": _edit(_FLIP, "return torch.where(flip, 1.0 - labels, labels)",
                                  "return torch.where(flip, 1.0 - labels, labels).unsqueeze(1)"),
    },
    "diagnose_history": {
        "median_of_the_tail": """
def diagnose_history(d_losses, g_losses, tail=0.25):
    import statistics
    n = max(1, int(len(d_losses) * tail))
    d, g = statistics.median(d_losses[-n:]), statistics.median(g_losses[-n:])
    if d < math.log(2):
        return "d-wins"
    if g < math.log(2) / 2:
        return "g-wins"
    return "healthy"
""",
        "swapped_verdicts": _DIAG.replace('"d-wins"', '"G-WINS"').replace('"g-wins"', '"d-wins"')
                                 .replace('"G-WINS"', '"g-wins"'),
        "whole_history": """
def diagnose_history(d_losses, g_losses, tail=0.25):
    d, g = np.mean(d_losses), np.mean(g_losses)
    if d < math.log(2):
        return "d-wins"
    if g < math.log(2) / 2:
        return "g-wins"
    return "healthy"
""",
        "equilibrium_as_threshold": _edit(_edit(_DIAG, "< math.log(2):", "< 2 * math.log(2):"),
                                          "< math.log(2) / 2:", "< math.log(2):"),
        "ignores_tail": _edit(_DIAG, "k = max(1, int(tail * len(d_losses)))", "k = max(1, len(d_losses) // 4)"),
        "tail_as_count": _edit(_DIAG, "k = max(1, int(tail * len(d_losses)))", "k = max(1, int(tail))"),
        "no_tail_argument": _edit(_edit(_DIAG, "(d_losses, g_losses, tail=0.25):", "(d_losses, g_losses):"),
                                  "int(tail * len(d_losses))", "int(0.25 * len(d_losses))"),
        "g_checked_first": """
def diagnose_history(d_losses, g_losses, tail=0.25):
    k = max(1, int(tail * len(d_losses)))
    if sum(g_losses[-k:]) / k < math.log(2) / 2:
        return "g-wins"
    if sum(d_losses[-k:]) / k < math.log(2):
        return "d-wins"
    return "healthy"
""",
        "no_minimum_of_one": """
def diagnose_history(d_losses, g_losses, tail=0.25):
    k = int(tail * len(d_losses))
    d, g = np.mean(d_losses[-k:]), np.mean(g_losses[-k:])
    if d < math.log(2):
        return "d-wins"
    if g < math.log(2) / 2:
        return "g-wins"
    return "healthy"
""",
        "last_step_only": """
def diagnose_history(d_losses, g_losses, tail=0.25):
    if d_losses[-1] < math.log(2):
        return "d-wins"
    if g_losses[-1] < math.log(2) / 2:
        return "g-wins"
    return "healthy"
""",
        "other_words": _DIAG.replace('"d-wins"', '"D wins"'),
    },
}


# --- borrowed from the course library: in the grading sandbox these are stubs, so they earn nothing -----

BORROWED = {
    "smoothed_discriminator_loss": {
        "library_object": "from gancourse.losses import smoothed_discriminator_loss\n",
        "library_wrapper": """
from gancourse import losses as _losses

def smoothed_discriminator_loss(real_logits, fake_logits, real_target=0.9):
    return _losses.smoothed_discriminator_loss(real_logits, fake_logits, real_target=real_target)
""",
    },
    "flipped_labels": {
        "library_object": "from gancourse.losses import flipped_labels\n",
        "library_wrapper": """
import gancourse.losses

def flipped_labels(n, label, flip_prob, generator=None):
    return gancourse.losses.flipped_labels(n, label, flip_prob, generator)
""",
    },
    "diagnose_history": {
        "library_object": "from gancourse.dynamics import diagnose_history\n",
        "library_wrapper": """
from gancourse import dynamics as _dyn

def diagnose_history(d_losses, g_losses, tail=0.25):
    return _dyn.diagnose_history(d_losses, g_losses, tail)
""",
    },
}

# --- an answer built on a library function of the same concept (found by an outside attacker): no points ---------
KIN = {
    "smoothed_discriminator_loss": """
import torch
from gancourse.losses import _bce_against_targets

def smoothed_discriminator_loss(real_logits, fake_logits, real_target=0.9):
    return _bce_against_targets(real_logits, fake_logits, torch.full_like(real_logits, real_target),
                                torch.zeros_like(fake_logits))
""",
}
