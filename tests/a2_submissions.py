"""Student answers for assignment 2, as test fixtures: correct ones written differently, the usual
mistakes, and answers borrowed from the course library. Each answer is the source of one answer cell."""

# --- correct answers, written in different ways -------------------------------------------------
SOFTPLUS = {
    "smoothed_discriminator_loss": """
def smoothed_discriminator_loss(real_logits, fake_logits, smooth=0.9):
    real_term = smooth * F.softplus(-real_logits) + (1.0 - smooth) * F.softplus(real_logits)
    return real_term.mean() + F.softplus(fake_logits).mean()
""",
    "noisy_labels": """
def noisy_labels(n, label, flip_prob, generator=None):
    flip = torch.rand(n, generator=generator) < flip_prob
    labels = torch.full((n,), float(label))
    return torch.where(flip, 1.0 - labels, labels)
""",
    "diagnose": """
def diagnose(d_losses, g_losses):
    k = max(1, len(d_losses) // 4)
    if sum(d_losses[-k:]) / k < math.log(2):
        return "d-wins"
    if sum(g_losses[-k:]) / k < math.log(2) / 2:
        return "g-wins"
    return "healthy"
""",
}

BCE = {
    "smoothed_discriminator_loss": """
def smoothed_discriminator_loss(real_logits, fake_logits, smooth=0.9):
    real_targets = torch.full_like(real_logits, smooth)
    fake_targets = torch.zeros_like(fake_logits)
    return (F.binary_cross_entropy_with_logits(real_logits, real_targets)
            + F.binary_cross_entropy_with_logits(fake_logits, fake_targets))
""",
    # A Bernoulli draw per label, and the flip as |label - flip|.
    "noisy_labels": """
def noisy_labels(n, label, flip_prob, generator=None):
    flips = torch.bernoulli(torch.full((n,), float(flip_prob)), generator=generator)
    return (label - flips).abs()
""",
    # NumPy, and a tail of ceil(steps / 4): any reasonable reading of "the last quarter" passes.
    "diagnose": """
def diagnose(d_losses, g_losses):
    tail = math.ceil(len(d_losses) / 4)
    d_mean = np.mean(np.asarray(d_losses)[-tail:])
    g_mean = np.mean(np.asarray(g_losses)[-tail:])
    verdict = "healthy"
    if g_mean < 0.5 * np.log(2):
        verdict = "g-wins"
    if d_mean < np.log(2):
        verdict = "d-wins"
    return verdict
""",
}

LOGSIGMOID = {
    "smoothed_discriminator_loss": """
def smoothed_discriminator_loss(real_logits, fake_logits, smooth=0.9):
    # log(1 - sigmoid(t)) = logsigmoid(-t)
    real_term = -(smooth * F.logsigmoid(real_logits) + (1 - smooth) * F.logsigmoid(-real_logits))
    fake_term = -F.logsigmoid(-fake_logits)
    return torch.mean(real_term) + torch.mean(fake_term)
""",
    # Add 1 where a label flips, modulo 2.
    "noisy_labels": """
def noisy_labels(n, label, flip_prob, generator=None):
    u = torch.rand(n, generator=generator)
    return torch.remainder(label + (u < flip_prob).float(), 2.0)
""",
    # torch, with the tail as a fraction.
    "diagnose": """
def diagnose(d_losses, g_losses, tail=0.25):
    d, g = torch.tensor(d_losses, dtype=torch.float64), torch.tensor(g_losses, dtype=torch.float64)
    k = max(1, int(tail * len(d)))
    equilibrium_d, equilibrium_g = 2 * math.log(2), math.log(2)
    if d[-k:].mean() < equilibrium_d / 2:
        return "d-wins"
    elif g[-k:].mean() < equilibrium_g / 2:
        return "g-wins"
    else:
        return "healthy"
""",
}

CORRECT = {"softplus": SOFTPLUS, "bce": BCE, "logsigmoid": LOGSIGMOID}

# --- the usual mistakes: each one must lose that part's points ----------------------------------
WRONG = {
    "smoothed_discriminator_loss": {
        "swapped_labels": """
def smoothed_discriminator_loss(real_logits, fake_logits, smooth=0.9):
    fake_term = smooth * F.softplus(-fake_logits) + (1.0 - smooth) * F.softplus(fake_logits)
    return F.softplus(real_logits).mean() + fake_term.mean()
""",
        "sum_not_mean": """
def smoothed_discriminator_loss(real_logits, fake_logits, smooth=0.9):
    real_term = smooth * F.softplus(-real_logits) + (1.0 - smooth) * F.softplus(real_logits)
    return real_term.sum() + F.softplus(fake_logits).sum()
""",
        "two_sided": """
def smoothed_discriminator_loss(real_logits, fake_logits, smooth=0.9):
    real_t = torch.full_like(real_logits, smooth)
    fake_t = torch.full_like(fake_logits, 1 - smooth)
    return (F.binary_cross_entropy_with_logits(real_logits, real_t)
            + F.binary_cross_entropy_with_logits(fake_logits, fake_t))
""",
        "smooths_to_one_minus": """
def smoothed_discriminator_loss(real_logits, fake_logits, smooth=0.9):
    real_t = torch.full_like(real_logits, 1 - smooth)
    return (F.binary_cross_entropy_with_logits(real_logits, real_t)
            + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
""",
        "ignores_smooth": """
def smoothed_discriminator_loss(real_logits, fake_logits, smooth=0.9):
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
""",
        "naive_log_sigmoid": """
def smoothed_discriminator_loss(real_logits, fake_logits, smooth=0.9):
    d_real, d_fake = torch.sigmoid(real_logits), torch.sigmoid(fake_logits)
    real_term = -(smooth * torch.log(d_real) + (1 - smooth) * torch.log(1 - d_real))
    return real_term.mean() - torch.log(1 - d_fake).mean()
""",
        "library_object": ("from gancourse.losses import smoothed_discriminator_loss as _lib\n"
                           "smoothed_discriminator_loss = _lib"),
        "library_wrapper": """
from gancourse import losses as _losses
def smoothed_discriminator_loss(real_logits, fake_logits, smooth=0.9):
    return _losses.smoothed_discriminator_loss(real_logits, fake_logits, real_target=smooth)
""",
    },
    "noisy_labels": {
        "deterministic_first_k": """
def noisy_labels(n, label, flip_prob, generator=None):
    labels = torch.full((n,), float(label))
    labels[:round(flip_prob * n)] = 1.0 - label
    return labels
""",
        "deterministic_every_kth": """
def noisy_labels(n, label, flip_prob, generator=None):
    labels = torch.full((n,), float(label))
    if flip_prob > 0:
        labels[::max(1, round(1 / flip_prob))] = 1.0 - label
    return labels
""",
        "flips_with_one_minus_p": """
def noisy_labels(n, label, flip_prob, generator=None):
    keep = torch.rand(n, generator=generator) < flip_prob
    return torch.where(keep, torch.full((n,), float(label)), torch.full((n,), 1.0 - label))
""",
        "ignores_generator": """
def noisy_labels(n, label, flip_prob, generator=None):
    flip = torch.rand(n) < flip_prob
    return torch.where(flip, 1.0 - label, float(label)).float()
""",
        "one_draw_for_all": """
def noisy_labels(n, label, flip_prob, generator=None):
    flip = torch.rand(1, generator=generator) < flip_prob
    return torch.full((n,), float(1 - label if flip else label))
""",
        "noise_not_flips": """
def noisy_labels(n, label, flip_prob, generator=None):
    return float(label) + flip_prob * (torch.rand(n, generator=generator) - 0.5)
""",
        "library_object": "from gancourse.losses import flipped_labels as noisy_labels",
        "library_wrapper": """
from gancourse import losses as _losses
def noisy_labels(n, label, flip_prob, generator=None):
    return _losses.flipped_labels(n, label, flip_prob, generator)
""",
    },
    "diagnose": {
        "swapped_verdicts": SOFTPLUS["diagnose"].replace('"d-wins"', '"G-WINS"').replace('"g-wins"', '"d-wins"')
                                                .replace('"G-WINS"', '"g-wins"'),
        "whole_history": """
def diagnose(d_losses, g_losses):
    d, g = np.mean(d_losses), np.mean(g_losses)
    if d < math.log(2):
        return "d-wins"
    if g < math.log(2) / 2:
        return "g-wins"
    return "healthy"
""",
        "equilibrium_as_threshold": """
def diagnose(d_losses, g_losses):
    k = max(1, len(d_losses) // 4)
    if np.mean(d_losses[-k:]) < 2 * math.log(2):
        return "d-wins"
    if np.mean(g_losses[-k:]) < math.log(2):
        return "g-wins"
    return "healthy"
""",
        "library_object": "from gancourse.dynamics import diagnose_history as diagnose",
        "library_wrapper": """
from gancourse import dynamics as _dyn
def diagnose(d_losses, g_losses):
    return _dyn.diagnose_history(d_losses, g_losses)
""",
    },
}
