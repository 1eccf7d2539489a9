"""Student answers for assignment 5, as test fixtures: correct ones written differently, and the usual
mistakes. Each answer is the source a student would type into one answer cell."""

# --- correct answers, written in different ways -------------------------------------------------

# One tensor, grown with torch.cat, the oldest samples dropped first; old samples drawn with randint.
BUFFER_CAT = """
class ReplayBuffer:
    def __init__(self, capacity):
        self.capacity = capacity
        self.stored = None

    def __len__(self):
        return 0 if self.stored is None else len(self.stored)

    def push(self, fakes):
        fakes = fakes.detach().clone()
        self.stored = fakes if self.stored is None else torch.cat([self.stored, fakes])
        self.stored = self.stored[-self.capacity:]

    def mix(self, fakes, fraction=0.5):
        n_old = round(fraction * len(fakes))
        if len(self) == 0 or n_old == 0:
            return fakes
        picks = torch.randint(len(self), (n_old,))
        return torch.cat([self.stored[picks], fakes[n_old:]])
"""

# A list of single samples; once full, a random slot is overwritten; current samples come first.
BUFFER_LIST = """
class ReplayBuffer:
    def __init__(self, capacity):
        self.capacity = capacity
        self.samples = []

    def __len__(self):
        return len(self.samples)

    def push(self, fakes):
        with torch.no_grad():
            for sample in fakes:
                if len(self.samples) < self.capacity:
                    self.samples.append(sample.clone())
                else:
                    slot = int(torch.randint(self.capacity, ()))
                    self.samples[slot] = sample.clone()

    def mix(self, fakes, fraction=0.5):
        if not self.samples:
            return fakes
        n_old = int(fraction * len(fakes) + 0.5)
        weights = torch.ones(len(self.samples))
        picks = torch.multinomial(weights, n_old, replacement=True).tolist() if n_old else []
        old = [self.samples[i] for i in picks]
        keep = list(fakes[: len(fakes) - n_old])
        return torch.stack(keep + old)
"""

# einsum and broadcasting; j = i left out by subtracting its exp(0) = 1.
MINIBATCH_EINSUM = """
class MinibatchDiscrimination(torch.nn.Module):
    def __init__(self, in_features, out_features, kernel_dims):
        super().__init__()
        self.T = torch.nn.Parameter(0.1 * torch.randn(in_features, out_features, kernel_dims))

    def forward(self, x):
        m = torch.einsum("na,abc->nbc", x, self.T)
        l1 = (m.unsqueeze(0) - m.unsqueeze(1)).abs().sum(3)
        o = torch.exp(-l1).sum(0) - 1
        return torch.cat([x, o], 1)
"""

# A matrix product on a reshaped T, then one torch.cdist per kernel; j = i included, as in the paper.
MINIBATCH_CDIST = """
class MinibatchDiscrimination(nn.Module):
    def __init__(self, in_features, out_features, kernel_dims):
        super().__init__()
        self.out_features, self.kernel_dims = out_features, kernel_dims
        self.T = nn.Parameter(torch.empty(in_features, out_features, kernel_dims))
        nn.init.normal_(self.T, std=0.05)

    def forward(self, x):
        rows = (x @ self.T.reshape(x.shape[1], -1)).reshape(len(x), self.out_features, self.kernel_dims)
        feats = []
        for b in range(self.out_features):
            dist = torch.cdist(rows[:, b], rows[:, b], p=1)
            feats.append(torch.exp(-dist).sum(1))
        return torch.cat([x, torch.stack(feats, dim=1)], dim=1)
"""

CRITIC_MEANS = """
def wasserstein_critic_loss(real_scores, fake_scores):
    return fake_scores.mean() - real_scores.mean()
"""
CRITIC_SUMS = """
def wasserstein_critic_loss(real_scores, fake_scores):
    fake_term = torch.sum(fake_scores) / fake_scores.numel()
    real_term = torch.sum(-real_scores) / real_scores.numel()
    return fake_term + real_term
"""
GENERATOR_MEAN = """
def wasserstein_generator_loss(fake_scores):
    return -fake_scores.mean()
"""
GENERATOR_NEG = """
def wasserstein_generator_loss(fake_scores):
    return torch.mean(torch.neg(fake_scores))
"""

PENALTY_DETACH = """
def gradient_penalty(critic, real, fake, generator=None):
    eps = torch.rand(real.shape[0], generator=generator).to(real.device)
    eps = eps.view(-1, *([1] * (real.dim() - 1)))
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
"""

# torch.lerp weights fake by t, i.e. eps = 1 - t: the same law; grad_outputs instead of .sum().
PENALTY_LERP = """
def gradient_penalty(critic, real, fake, generator=None):
    n = len(real)
    t = torch.rand((n,) + (1,) * (real.dim() - 1), generator=generator, dtype=real.dtype)
    x_hat = torch.lerp(real, fake, t).detach().requires_grad_()
    scores = critic(x_hat)
    grad = torch.autograd.grad(outputs=scores, inputs=x_hat, grad_outputs=torch.ones_like(scores),
                               create_graph=True)[0]
    norms = torch.sqrt(grad.pow(2).reshape(n, -1).sum(dim=1))
    return torch.mean((norms - 1.0) ** 2)
"""

TRUNCATED_WHERE = """
def truncated_latents(n, dim, threshold, generator=None):
    z = torch.randn(n, dim, generator=generator)
    while True:
        outside = z.abs() > threshold
        if not outside.any():
            return z
        z = torch.where(outside, torch.randn(n, dim, generator=generator), z)
"""

# Rejection sampling on a stream: draw more than needed, keep what falls inside, until enough.
TRUNCATED_STREAM = """
def truncated_latents(n, dim, threshold, generator=None):
    kept, count = [], 0
    while count < n * dim:
        draw = torch.randn(2 * n * dim, generator=generator)
        draw = draw[draw.abs() <= threshold]
        kept.append(draw)
        count += len(draw)
    return torch.cat(kept)[: n * dim].reshape(n, dim)
"""

CORRECT = {
    "cat_einsum": {"ReplayBuffer": BUFFER_CAT, "MinibatchDiscrimination": MINIBATCH_EINSUM,
                   "wasserstein_critic_loss": CRITIC_MEANS, "wasserstein_generator_loss": GENERATOR_MEAN,
                   "gradient_penalty": PENALTY_DETACH, "truncated_latents": TRUNCATED_WHERE},
    "list_cdist": {"ReplayBuffer": BUFFER_LIST, "MinibatchDiscrimination": MINIBATCH_CDIST,
                   "wasserstein_critic_loss": CRITIC_SUMS, "wasserstein_generator_loss": GENERATOR_NEG,
                   "gradient_penalty": PENALTY_LERP, "truncated_latents": TRUNCATED_STREAM},
}

# --- the usual mistakes: each one must lose that part's points ----------------------------------

WRONG = {
    "ReplayBuffer": {
        "never_returns_old": BUFFER_CAT.replace("        picks = torch.randint(len(self), (n_old,))\n"
                                                "        return torch.cat([self.stored[picks], fakes[n_old:]])",
                                                "        return fakes"),
        "old_from_current_batch": BUFFER_CAT.replace("self.stored[picks]", "fakes[picks % len(fakes)]"),
        "stores_graph": BUFFER_CAT.replace("fakes.detach().clone()", "fakes.clone()"),
        "detaches_only_when_mixing": BUFFER_CAT.replace("fakes.detach().clone()", "fakes.clone()").replace(
            "return torch.cat([self.stored[picks], fakes[n_old:]])",
            "return torch.cat([self.stored[picks].detach(), fakes[n_old:]])"),
        "stores_views": BUFFER_LIST.replace("        with torch.no_grad():\n            for sample in fakes:",
                                            "        if True:\n            for sample in fakes.detach():")
                                   .replace("sample.clone()", "sample"),
        "ignores_capacity": BUFFER_CAT.replace("        self.stored = self.stored[-self.capacity:]\n", ""),
        "batch_grows": BUFFER_CAT.replace("fakes[n_old:]])", "fakes])"),
        "keeps_last_push_only": BUFFER_CAT.replace(
            "fakes if self.stored is None else torch.cat([self.stored, fakes])", "fakes"),
        "never_replaces_when_full": BUFFER_LIST.replace(
            "self.samples[slot] = sample.clone()", "pass"),
        "mix_also_pushes": BUFFER_CAT.replace("    def mix(self, fakes, fraction=0.5):\n",
                                              "    def mix(self, fakes, fraction=0.5):\n"
                                              "        self.push(fakes)\n"),
        "fails_when_empty": BUFFER_CAT.replace("if len(self) == 0 or n_old == 0:", "if n_old == 0:"),
        "always_same_old_samples": BUFFER_CAT.replace("torch.randint(len(self), (n_old,))",
                                                      "torch.arange(n_old) % len(self)"),
        "library_object": "from gancourse import fixes\nReplayBuffer = fixes.ReplayBuffer",
        "library_subclass": "from gancourse import fixes\nclass ReplayBuffer(fixes.ReplayBuffer):\n    pass",
        "library_wrapper": """
from gancourse import fixes

class ReplayBuffer:
    def __init__(self, capacity):
        self.inner = fixes.ReplayBuffer(capacity, fraction=0.5)

    def __len__(self):
        return len(self.inner)

    def push(self, fakes):
        self.inner.push(fakes)

    def mix(self, fakes, fraction=0.5):
        if len(self.inner) == 0:
            return fakes
        n_old = round(fraction * len(fakes))
        return torch.cat([self.inner.sample(n_old), fakes[n_old:]])
""",
    },
    "MinibatchDiscrimination": {
        "l2_distance": MINIBATCH_EINSUM.replace(".abs().sum(3)", ".pow(2).sum(3).sqrt()"),
        "one_feature_for_the_batch": MINIBATCH_EINSUM.replace(
            "o = torch.exp(-l1).sum(0) - 1", "o = (torch.exp(-l1).sum(0) - 1).mean(0).expand(len(x), -1)"),
        "no_other_samples": MINIBATCH_EINSUM.replace(
            "        l1 = (m.unsqueeze(0) - m.unsqueeze(1)).abs().sum(3)\n        o = torch.exp(-l1).sum(0) - 1",
            "        o = torch.exp(-m.abs().sum(2))"),
        "one_distance_over_all_kernels": MINIBATCH_EINSUM.replace(
            "o = torch.exp(-l1).sum(0) - 1",
            "o = (torch.exp(-l1.sum(2, keepdim=True)).sum(0) - 1).expand(-1, l1.shape[2])"),
        "features_only": MINIBATCH_EINSUM.replace("torch.cat([x, o], 1)", "o"),
        "library_object": "from gancourse import fixes\nMinibatchDiscrimination = fixes.MinibatchDiscrimination",
        "library_subclass": ("from gancourse import fixes\n"
                             "class MinibatchDiscrimination(fixes.MinibatchDiscrimination):\n"
                             "    def __init__(self, in_features, out_features, kernel_dims):\n"
                             "        super().__init__(in_features, out_features, kernel_dims)"),
        "library_wrapper": """
from gancourse import fixes

class MinibatchDiscrimination(torch.nn.Module):
    def __init__(self, in_features, out_features, kernel_dims):
        super().__init__()
        self.inner = fixes.MinibatchDiscrimination(in_features, out_features, kernel_dims)
        self.T = self.inner.T

    def forward(self, x):
        return self.inner(x)
""",
    },
    "wasserstein_critic_loss": {
        "sigmoid_on_scores": ("def wasserstein_critic_loss(real_scores, fake_scores):\n"
                              "    return torch.sigmoid(fake_scores).mean() - torch.sigmoid(real_scores).mean()"),
        "swapped_sign": ("def wasserstein_critic_loss(real_scores, fake_scores):\n"
                         "    return real_scores.mean() - fake_scores.mean()"),
        "sums_not_means": ("def wasserstein_critic_loss(real_scores, fake_scores):\n"
                           "    return fake_scores.sum() - real_scores.sum()"),
        "bce_loss": ("def wasserstein_critic_loss(real_scores, fake_scores):\n"
                     "    return F.softplus(-real_scores).mean() + F.softplus(fake_scores).mean()"),
        "library_object": "wasserstein_critic_loss = losses.wasserstein_critic_loss",
        "library_wrapper": ("def wasserstein_critic_loss(real_scores, fake_scores):\n"
                            "    return losses.wasserstein_critic_loss(real_scores, fake_scores)"),
    },
    "wasserstein_generator_loss": {
        "sigmoid_on_scores": "def wasserstein_generator_loss(f):\n    return -torch.sigmoid(f).mean()",
        "swapped_sign": "def wasserstein_generator_loss(f):\n    return f.mean()",
        "non_saturating_loss": "def wasserstein_generator_loss(f):\n    return F.softplus(-f).mean()",
        "library_wrapper": ("from gancourse.losses import wasserstein_generator_loss as _lib\n"
                            "def wasserstein_generator_loss(f):\n    return _lib(f)"),
    },
    "gradient_penalty": {
        "at_real_points": PENALTY_DETACH.replace(
            "(eps * real.detach() + (1 - eps) * fake.detach())", "real.detach().clone()"),
        "at_fake_points": PENALTY_DETACH.replace(
            "(eps * real.detach() + (1 - eps) * fake.detach())", "fake.detach().clone()"),
        "squared_norm": PENALTY_DETACH.replace("grad.flatten(1).norm(dim=1)", "grad.flatten(1).pow(2).sum(1)"),
        "norm_over_the_batch": PENALTY_DETACH.replace("grad.flatten(1).norm(dim=1)", "grad.norm()"),
        "norm_over_dim_1_only": PENALTY_DETACH.replace("grad.flatten(1).norm(dim=1)", "grad.norm(dim=1)"),
        "mean_of_scores": PENALTY_DETACH.replace("critic(x_hat).sum()", "critic(x_hat).mean()"),
        "wrong_sign": PENALTY_DETACH.replace("return ((", "return -(("),
        "lambda_inside": PENALTY_DETACH.replace("return ((", "return 10 * (("),
        "one_eps_for_the_batch": PENALTY_DETACH.replace("torch.rand(real.shape[0], generator=generator)",
                                                        "torch.rand(1, generator=generator).expand(real.shape[0])"),
        "ignores_generator": PENALTY_DETACH.replace("torch.rand(real.shape[0], generator=generator)",
                                                    "torch.rand(real.shape[0])"),
        "no_create_graph": PENALTY_DETACH.replace("create_graph=True", "create_graph=False"),
        "library_object": "gradient_penalty = losses.gradient_penalty",
        "library_wrapper": ("def gradient_penalty(critic, real, fake, generator=None):\n"
                            "    return losses.gradient_penalty(critic, real, fake, generator=generator)"),
    },
    "truncated_latents": {
        "clamped": ("def truncated_latents(n, dim, threshold, generator=None):\n"
                    "    return torch.randn(n, dim, generator=generator).clamp(-threshold, threshold)"),
        "redrawn_once": ("def truncated_latents(n, dim, threshold, generator=None):\n"
                         "    z = torch.randn(n, dim, generator=generator)\n"
                         "    outside = z.abs() > threshold\n"
                         "    z[outside] = torch.randn(int(outside.sum()), generator=generator)\n"
                         "    return z"),
        "rescaled": ("def truncated_latents(n, dim, threshold, generator=None):\n"
                     "    z = torch.randn(n, dim, generator=generator)\n"
                     "    return z * threshold / z.abs().max()"),
        "uniform": ("def truncated_latents(n, dim, threshold, generator=None):\n"
                    "    return (2 * torch.rand(n, dim, generator=generator) - 1) * threshold"),
        "redraws_ignore_generator": TRUNCATED_WHERE.replace(
            "torch.where(outside, torch.randn(n, dim, generator=generator), z)",
            "torch.where(outside, torch.randn(n, dim), z)"),
        "library_object": "from gancourse.fixes import truncated_latents",
        "library_wrapper": ("from gancourse import fixes\ndef truncated_latents(n, dim, threshold, generator=None):\n"
                            "    return fixes.truncated_latents(n, dim, threshold, generator)"),
    },
}
