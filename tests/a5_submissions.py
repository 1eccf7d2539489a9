"""Student answers for assignment 5 (mode collapse), as test fixtures: correct ones written differently,
the usual mistakes, and borrowed library objects. Each answer is the source of one answer cell; the
notebook's setup cell provides torch, nn, F, math, scipy and the course modules losses, nets, ..."""

# --- correct answers, written in different ways -------------------------------------------------

# One tensor, grown with torch.cat, the oldest samples dropped first; old fakes drawn with randint.
BUFFER_CAT = """
class ReplayBuffer:
    def __init__(self, capacity, fraction=0.5, generator=None):
        self.capacity, self.fraction, self.generator = capacity, fraction, generator
        self.stored = None

    def __len__(self):
        return 0 if self.stored is None else len(self.stored)

    def push(self, fakes):
        fakes = fakes.detach().clone()
        self.stored = fakes if self.stored is None else torch.cat([self.stored, fakes])
        self.stored = self.stored[-self.capacity:]

    def sample(self, n):
        return self.stored[torch.randint(len(self), (n,), generator=self.generator)]

    def mix(self, fakes):
        n_old = round(self.fraction * len(fakes))
        if len(self) == 0 or n_old == 0:
            batch = fakes
        else:
            picks = torch.randint(len(self), (n_old,), generator=self.generator)
            batch = torch.cat([self.stored[picks], fakes[n_old:]])
        self.push(fakes)
        return batch
"""

# A list of single samples; once full, a random slot is overwritten; current samples come first.
BUFFER_LIST = """
class ReplayBuffer:
    def __init__(self, capacity, fraction=0.5, generator=None):
        self.capacity = capacity
        self.fraction = fraction
        self.generator = generator
        self.samples = []

    def __len__(self):
        return len(self.samples)

    def push(self, fakes):
        with torch.no_grad():
            for sample in fakes:
                if len(self.samples) < self.capacity:
                    self.samples.append(sample.clone())
                else:
                    slot = int(torch.randint(self.capacity, (), generator=self.generator))
                    self.samples[slot] = sample.clone()

    def sample(self, n):
        weights = torch.ones(len(self.samples))
        picks = torch.multinomial(weights, n, replacement=True, generator=self.generator).tolist()
        return torch.stack([self.samples[i] for i in picks])

    def mix(self, fakes):
        if not self.samples:
            self.push(fakes)
            return fakes
        n_old = int(self.fraction * len(fakes) + 0.5)
        keep = list(fakes[: len(fakes) - n_old])
        old = list(self.sample(n_old)) if n_old else []
        self.push(fakes)
        return torch.stack(keep + old)
"""

# The tutorial's deque of samples (maxlen drops the oldest), Python's indexing, random.choices-like
# draws with the generator, and a shuffled batch; generator=None gets a generator of its own.
BUFFER_DEQUE = """
from collections import deque

class ReplayBuffer:
    def __init__(self, capacity, fraction=0.5, generator=None):
        self.memory = deque(maxlen=capacity)
        self.fraction = fraction
        self.generator = generator if generator is not None else torch.Generator().manual_seed(0)

    def __len__(self):
        return len(self.memory)

    def push(self, fakes):
        self.memory.extend(x.detach().clone() for x in fakes)

    def sample(self, n):
        idx = torch.randint(0, len(self.memory), size=(n,), generator=self.generator)
        return torch.stack([self.memory[i] for i in idx.tolist()])

    def mix(self, fakes):
        n = fakes.size(0)
        n_old = round(self.fraction * n) if len(self.memory) > 0 else 0
        parts = [fakes[torch.randperm(n, generator=self.generator)[: n - n_old]]]
        if n_old > 0:
            parts.append(self.sample(n_old))
        batch = torch.cat(parts)
        batch = batch[torch.randperm(n, generator=self.generator)]  # old and new fakes in random order
        self.push(fakes)
        return batch if n_old > 0 else fakes
"""

# Preallocated storage as in the library: append while there is room, then overwrite random slots.
BUFFER_PREALLOCATED = """
class ReplayBuffer:
    def __init__(self, capacity, fraction=0.5, generator=None):
        self.capacity, self.fraction, self.generator = capacity, fraction, generator
        self.data = None
        self.size = 0

    def __len__(self):
        return self.size

    def push(self, fakes):
        if self.data is None:
            self.data = fakes.new_empty((self.capacity, *fakes.shape[1:]))
        for x in fakes.detach():
            if self.size < self.capacity:
                self.data[self.size] = x
                self.size += 1
            else:
                self.data[torch.randint(self.capacity, (1,), generator=self.generator)] = x

    def sample(self, n):
        return self.data[torch.randint(self.size, (n,), generator=self.generator)]

    def mix(self, fakes):
        n_old = round(self.fraction * len(fakes)) if self.size else 0
        out = fakes.clone()
        if n_old:
            out[:n_old] = self.sample(n_old)
        self.push(fakes)
        return out
"""

# einsum and broadcasting; j = i left out by subtracting its exp(0) = 1.
MINIBATCH_EINSUM = """
class MinibatchDiscrimination(torch.nn.Module):
    def __init__(self, in_features, num_kernels=8, kernel_dim=8):
        super().__init__()
        self.T = torch.nn.Parameter(0.1 * torch.randn(in_features, num_kernels, kernel_dim))

    def forward(self, x):
        m = torch.einsum("na,abc->nbc", x, self.T)
        l1 = (m.unsqueeze(0) - m.unsqueeze(1)).abs().sum(3)
        o = torch.exp(-l1).sum(0) - 1
        return torch.cat([x, o], 1)
"""

# A matrix product on a reshaped T, then one torch.cdist per kernel; j = i included, as in the paper.
MINIBATCH_CDIST = """
class MinibatchDiscrimination(nn.Module):
    def __init__(self, in_features, num_kernels=8, kernel_dim=8):
        super().__init__()
        self.num_kernels, self.kernel_dim = num_kernels, kernel_dim
        self.T = nn.Parameter(torch.empty(in_features, num_kernels, kernel_dim))
        nn.init.normal_(self.T, std=0.05)

    def forward(self, x):
        rows = (x @ self.T.reshape(x.shape[1], -1)).reshape(len(x), self.num_kernels, self.kernel_dim)
        feats = []
        for b in range(self.num_kernels):
            dist = torch.cdist(rows[:, b], rows[:, b], p=1)
            feats.append(torch.exp(-dist).sum(1))
        return torch.cat([x, torch.stack(feats, dim=1)], dim=1)
"""

# The widely copied PyTorch implementation: mm on T.view, permute for the pairs, minus the self term.
MINIBATCH_TUTORIAL = """
class MinibatchDiscrimination(nn.Module):
    def __init__(self, in_features, num_kernels=8, kernel_dim=8):
        super().__init__()
        self.in_features = in_features
        self.out_features = num_kernels
        self.kernel_dims = kernel_dim
        self.T = nn.Parameter(torch.Tensor(in_features, num_kernels, kernel_dim))
        nn.init.normal_(self.T, 0, 1)

    def forward(self, x):
        matrices = x.mm(self.T.view(self.in_features, -1))
        matrices = matrices.view(-1, self.out_features, self.kernel_dims)
        M = matrices.unsqueeze(0)  # 1xNxBxC
        M_T = M.permute(1, 0, 2, 3)  # Nx1xBxC
        norm = torch.abs(M - M_T).sum(3)  # NxNxB
        expnorm = torch.exp(-norm)
        o_b = (expnorm.sum(0) - 1)  # NxB, subtract self distance
        return torch.cat([x, o_b], 1)
"""

# A Python loop over the samples, each compared with the whole batch.
MINIBATCH_LOOP = """
class MinibatchDiscrimination(nn.Module):
    def __init__(self, in_features, num_kernels=8, kernel_dim=8):
        super().__init__()
        self.T = nn.Parameter(torch.randn(in_features, num_kernels, kernel_dim) / kernel_dim)

    def forward(self, x):
        m = (x @ self.T.flatten(1)).view(len(x), *self.T.shape[1:])
        feats = []
        for i in range(len(x)):
            closeness = torch.exp(-(m[i] - m).abs().sum(-1))  # (N, B), with exp(0) = 1 for j = i
            feats.append(closeness.sum(0) - closeness[i])
        return torch.cat([x, torch.stack(feats)], dim=1)
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
# The WGAN-GP tutorial's form: minus the estimated Wasserstein distance.
CRITIC_TUTORIAL = """
def wasserstein_critic_loss(real_scores, fake_scores):
    wasserstein_d = torch.mean(real_scores) - torch.mean(fake_scores)
    return -wasserstein_d
"""
GENERATOR_MEAN = """
def wasserstein_generator_loss(fake_scores):
    return -fake_scores.mean()
"""
GENERATOR_NEG = """
def wasserstein_generator_loss(fake_scores):
    return torch.mean(torch.neg(fake_scores))
"""
# Calls the notebook's critic loss: graded with the grader's critic loss in its place.
GENERATOR_CALLS_CRITIC_LOSS = """
def wasserstein_generator_loss(fake_scores):
    return wasserstein_critic_loss(fake_scores, fake_scores.new_zeros(1))  # 0 - mean f(fake)
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

# The widely copied WGAN-GP implementation: alpha expanded by hand, Variable, retain_graph, only_inputs.
PENALTY_TUTORIAL = """
from torch import autograd

def gradient_penalty(critic, real, fake, generator=None):
    batch_size = real.size(0)
    alpha = torch.rand(batch_size, 1, generator=generator)
    alpha = alpha.expand(batch_size, real.nelement() // batch_size).contiguous().view(real.size())
    interpolates = alpha * real + ((1 - alpha) * fake)
    interpolates = autograd.Variable(interpolates, requires_grad=True)
    disc_interpolates = critic(interpolates)
    gradients = autograd.grad(outputs=disc_interpolates, inputs=interpolates,
                              grad_outputs=torch.ones(disc_interpolates.size()),
                              create_graph=True, retain_graph=True, only_inputs=True)[0]
    gradients = gradients.view(gradients.size(0), -1)
    return ((gradients.norm(2, dim=1) - 1) ** 2).mean()
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

# No redrawing at all: the inverse of the normal CDF on uniforms between Phi(-t) and Phi(t), the same law.
TRUNCATED_INVERSE_CDF = """
def truncated_latents(n, dim, threshold, generator=None):
    t = torch.tensor(float(threshold), dtype=torch.float64)
    lo, hi = torch.special.ndtr(-t), torch.special.ndtr(t)
    u = lo + (hi - lo) * torch.rand(n, dim, generator=generator, dtype=torch.float64)
    return torch.special.ndtri(u).clamp(-threshold, threshold).float()
"""

CORRECT = {
    "cat_einsum": {"ReplayBuffer": BUFFER_CAT, "MinibatchDiscrimination": MINIBATCH_EINSUM,
                   "wasserstein_critic_loss": CRITIC_MEANS, "wasserstein_generator_loss": GENERATOR_MEAN,
                   "gradient_penalty": PENALTY_DETACH, "truncated_latents": TRUNCATED_WHERE},
    "list_cdist": {"ReplayBuffer": BUFFER_LIST, "MinibatchDiscrimination": MINIBATCH_CDIST,
                   "wasserstein_critic_loss": CRITIC_SUMS, "wasserstein_generator_loss": GENERATOR_NEG,
                   "gradient_penalty": PENALTY_LERP, "truncated_latents": TRUNCATED_STREAM},
    "tutorial": {"ReplayBuffer": BUFFER_DEQUE, "MinibatchDiscrimination": MINIBATCH_TUTORIAL,
                 "wasserstein_critic_loss": CRITIC_TUTORIAL, "wasserstein_generator_loss": GENERATOR_CALLS_CRITIC_LOSS,
                 "gradient_penalty": PENALTY_TUTORIAL, "truncated_latents": TRUNCATED_INVERSE_CDF},
    "preallocated_loop": {"ReplayBuffer": BUFFER_PREALLOCATED, "MinibatchDiscrimination": MINIBATCH_LOOP,
                          "wasserstein_critic_loss": CRITIC_MEANS, "wasserstein_generator_loss": GENERATOR_MEAN,
                          "gradient_penalty": PENALTY_DETACH, "truncated_latents": TRUNCATED_WHERE},
}


def _edit(source: str, old: str, new: str) -> str:
    assert old in source, old
    return source.replace(old, new)


# --- the usual mistakes: each one must lose that part's points ----------------------------------

# The buffer of the assignment's first edition: mix(fakes, fraction) stored nothing, no sample, no generator.
BUFFER_OLD_API = """
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

_MIX_PICKS = "picks = torch.randint(len(self), (n_old,), generator=self.generator)"

WRONG = {
    "ReplayBuffer": {
        # once full, every new sample overwrites slot 0: the first capacity - 1 samples stay forever
        "overwrites_one_slot": """
class ReplayBuffer:
    def __init__(self, capacity, fraction=0.5, generator=None):
        self.capacity, self.fraction, self.generator = capacity, fraction, generator
        self.items = []

    def __len__(self):
        return len(self.items)

    def push(self, fakes):
        for x in fakes.detach():
            if len(self.items) < self.capacity:
                self.items.append(x.clone())
            else:
                self.items[0] = x.clone()

    def sample(self, n):
        idx = torch.randint(len(self.items), (n,), generator=self.generator)
        return torch.stack([self.items[i] for i in idx.tolist()])

    def mix(self, fakes):
        n = len(fakes)
        if not self.items:
            self.push(fakes)
            return fakes.detach().clone()
        k = round(self.fraction * n)
        old = self.sample(k) if k else fakes[:0].detach()
        keep = torch.randperm(n, generator=self.generator)[: n - k]
        out = torch.cat([old, fakes.detach()[keep]])
        self.push(fakes)
        return out
""",
        "old_assignment_api": BUFFER_OLD_API,
        "mix_does_not_store": _edit(BUFFER_CAT, "        self.push(fakes)\n        return batch",
                                    "        return batch"),
        "never_returns_old": _edit(BUFFER_CAT, "batch = torch.cat([self.stored[picks], fakes[n_old:]])",
                                   "batch = fakes"),
        "old_from_current_batch": _edit(BUFFER_CAT, "self.stored[picks]", "fakes[picks % len(fakes)]"),
        "stores_before_drawing": _edit(_edit(BUFFER_CAT, "        self.push(fakes)\n        return batch",
                                             "        return batch"),
                                       "        n_old = round(self.fraction * len(fakes))\n",
                                       "        n_old = round(self.fraction * len(fakes))\n"
                                       "        empty = len(self) == 0\n        self.push(fakes)\n").replace(
                                           "if len(self) == 0 or n_old == 0:", "if empty or n_old == 0:"),
        "stores_graph": _edit(BUFFER_CAT, "fakes.detach().clone()", "fakes.clone()"),
        "detaches_only_when_drawing": _edit(_edit(BUFFER_CAT, "fakes.detach().clone()", "fakes.clone()"),
                                            "self.stored[picks]", "self.stored[picks].detach()").replace(
                                                "return self.stored[torch.randint",
                                                "return self.stored.detach()[torch.randint"),
        "stores_views": _edit(_edit(BUFFER_LIST, "        with torch.no_grad():\n            for sample in fakes:",
                                    "        if True:\n            for sample in fakes.detach():"),
                              "self.samples.append(sample.clone())", "self.samples.append(sample)"),
        "ignores_capacity": _edit(BUFFER_CAT, "        self.stored = self.stored[-self.capacity:]\n", ""),
        "batch_grows": _edit(BUFFER_CAT, "fakes[n_old:]])", "fakes])"),
        "keeps_last_push_only": _edit(BUFFER_CAT, "fakes if self.stored is None else torch.cat([self.stored, fakes])",
                                      "fakes"),
        "never_replaces_when_full": _edit(BUFFER_LIST, "self.samples[slot] = sample.clone()", "pass"),
        "fails_when_empty": _edit(BUFFER_CAT, "if len(self) == 0 or n_old == 0:", "if n_old == 0:"),
        "always_same_old_samples": _edit(BUFFER_CAT, _MIX_PICKS, "picks = torch.arange(n_old) % len(self)"),
        "sample_without_replacement": _edit(
            BUFFER_CAT, "return self.stored[torch.randint(len(self), (n,), generator=self.generator)]",
            "return self.stored[torch.randperm(len(self), generator=self.generator)[:n]]"),
        "ignores_generator": _edit(BUFFER_CAT, _MIX_PICKS, "picks = torch.randint(len(self), (n_old,))"),
        "pushes_the_returned_batch": _edit(BUFFER_CAT, "        self.push(fakes)\n        return batch",
                                           "        self.push(batch)\n        return batch"),
        "fraction_ignored": _edit(BUFFER_CAT, "n_old = round(self.fraction * len(fakes))", "n_old = len(fakes) // 2"),
    },
    "MinibatchDiscrimination": {
        "old_assignment_signature": _edit(MINIBATCH_EINSUM,
                                          "def __init__(self, in_features, num_kernels=8, kernel_dim=8)",
                                          "def __init__(self, in_features, out_features, kernel_dims)").replace(
                                              "(in_features, num_kernels, kernel_dim)",
                                              "(in_features, out_features, kernel_dims)"),
        "no_defaults": _edit(MINIBATCH_EINSUM, "num_kernels=8, kernel_dim=8", "num_kernels, kernel_dim"),
        "l2_distance": _edit(MINIBATCH_EINSUM, ".abs().sum(3)", ".pow(2).sum(3).sqrt()"),
        "one_feature_for_the_batch": _edit(MINIBATCH_EINSUM, "o = torch.exp(-l1).sum(0) - 1",
                                           "o = (torch.exp(-l1).sum(0) - 1).mean(0).expand(len(x), -1)"),
        "no_other_samples": _edit(MINIBATCH_EINSUM, "        l1 = (m.unsqueeze(0) - m.unsqueeze(1)).abs().sum(3)\n"
                                                    "        o = torch.exp(-l1).sum(0) - 1",
                                  "        o = torch.exp(-m.abs().sum(2))"),
        "one_distance_over_all_kernels": _edit(
            MINIBATCH_EINSUM, "o = torch.exp(-l1).sum(0) - 1",
            "o = (torch.exp(-l1.sum(2, keepdim=True)).sum(0) - 1).expand(-1, l1.shape[2])"),
        "mean_over_the_others": _edit(MINIBATCH_TUTORIAL, "o_b = (expnorm.sum(0) - 1)",
                                      "o_b = (expnorm.sum(0) - 1) / max(x.size(0) - 1, 1)"),
        "features_only": _edit(MINIBATCH_EINSUM, "torch.cat([x, o], 1)", "o"),
        "features_detached": _edit(MINIBATCH_EINSUM, "torch.cat([x, o], 1)", "torch.cat([x, o.detach()], 1)"),
        "T_reshaped": _edit(MINIBATCH_EINSUM, "self.T = torch.nn.Parameter(0.1 * torch.randn(in_features, num_kernels, "
                                              "kernel_dim))",
                            "self.T = torch.nn.Parameter(0.1 * torch.randn(in_features, num_kernels * kernel_dim))\n"
                            "        self.shape = (num_kernels, kernel_dim)").replace(
                                'm = torch.einsum("na,abc->nbc", x, self.T)',
                                "m = (x @ self.T).view(len(x), *self.shape)"),
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
        "not_differentiable": ("def wasserstein_critic_loss(real_scores, fake_scores):\n"
                               "    return torch.tensor(fake_scores.mean().item() - real_scores.mean().item())"),
    },
    "wasserstein_generator_loss": {
        "sigmoid_on_scores": "def wasserstein_generator_loss(f):\n    return -torch.sigmoid(f).mean()",
        "swapped_sign": "def wasserstein_generator_loss(f):\n    return f.mean()",
        "non_saturating_loss": "def wasserstein_generator_loss(f):\n    return F.softplus(-f).mean()",
        "sum_not_mean": "def wasserstein_generator_loss(f):\n    return -f.sum()",
    },
    "gradient_penalty": {
        "at_real_points": _edit(PENALTY_DETACH, "(eps * real.detach() + (1 - eps) * fake.detach())",
                                "real.detach().clone()"),
        "at_fake_points": _edit(PENALTY_DETACH, "(eps * real.detach() + (1 - eps) * fake.detach())",
                                "fake.detach().clone()"),
        "squared_norm": _edit(PENALTY_DETACH, "grad.flatten(1).norm(dim=1)", "grad.flatten(1).pow(2).sum(1)"),
        "norm_over_the_batch": _edit(PENALTY_DETACH, "grad.flatten(1).norm(dim=1)", "grad.norm()"),
        "norm_over_dim_1_only": _edit(PENALTY_DETACH, "grad.flatten(1).norm(dim=1)", "grad.norm(dim=1)"),
        "mean_of_scores": _edit(PENALTY_DETACH, "critic(x_hat).sum()", "critic(x_hat).mean()"),
        "wrong_sign": _edit(PENALTY_DETACH, "return ((", "return -(("),
        "lambda_inside": _edit(PENALTY_DETACH, "return ((", "return 10 * (("),
        "sum_over_the_batch": _edit(PENALTY_DETACH, ") ** 2).mean()", ") ** 2).sum()"),
        "one_eps_for_the_batch": _edit(PENALTY_DETACH, "torch.rand(real.shape[0], generator=generator)",
                                       "torch.rand(1, generator=generator).expand(real.shape[0])"),
        "eps_per_entry": _edit(PENALTY_DETACH,
                               "    eps = torch.rand(real.shape[0], generator=generator).to(real.device)\n"
                               "    eps = eps.view(-1, *([1] * (real.dim() - 1)))\n",
                               "    eps = torch.rand(real.shape, generator=generator)\n"),
        "eps_normal": _edit(PENALTY_DETACH, "torch.rand(real.shape[0], generator=generator)",
                            "torch.randn(real.shape[0], generator=generator)"),
        "eps_half_range": _edit(PENALTY_DETACH, "torch.rand(real.shape[0], generator=generator)",
                                "0.5 * torch.rand(real.shape[0], generator=generator)"),
        "ignores_generator": _edit(PENALTY_DETACH, "torch.rand(real.shape[0], generator=generator)",
                                   "torch.rand(real.shape[0])"),
        "no_create_graph": _edit(PENALTY_DETACH, "create_graph=True", "create_graph=False"),
        "eps_middle_of_the_segment": _edit(PENALTY_DETACH, "torch.rand(real.shape[0], generator=generator)",
                                           "0.25 + 0.5 * torch.rand(real.shape[0], generator=generator)"),
        "eps_triangular": _edit(PENALTY_DETACH, "torch.rand(real.shape[0], generator=generator)",
                                "((torch.rand(real.shape[0], generator=generator) + "
                                "torch.rand(real.shape[0], generator=generator)) / 2)"),
    },
    "truncated_latents": {
        # one redraw, then a uniform draw on [-t, t] for whatever is still outside: close to the law, not it
        "redrawn_once_then_uniform": ("def truncated_latents(n, dim, threshold, generator=None):\n"
                                      "    z = torch.randn(n, dim, generator=generator)\n"
                                      "    again = torch.randn(n, dim, generator=generator)\n"
                                      "    z = torch.where(z.abs() > threshold, again, z)\n"
                                      "    u = (torch.rand(n, dim, generator=generator) * 2 - 1) * threshold\n"
                                      "    return torch.where(z.abs() > threshold, u, z)\n"),
        "redrawn_ten_times_then_clamped": ("def truncated_latents(n, dim, threshold, generator=None):\n"
                                           "    z = torch.randn(n, dim, generator=generator)\n"
                                           "    for _ in range(10):\n"
                                           "        z = torch.where(z.abs() > threshold, "
                                           "torch.randn(n, dim, generator=generator), z)\n"
                                           "    return z.clamp(-threshold, threshold)\n"),
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
        "redraws_ignore_generator": _edit(TRUNCATED_WHERE,
                                          "torch.where(outside, torch.randn(n, dim, generator=generator), z)",
                                          "torch.where(outside, torch.randn(n, dim), z)"),
        "folded": ("def truncated_latents(n, dim, threshold, generator=None):\n"
                   "    z = torch.randn(n, dim, generator=generator)\n"
                   "    return torch.remainder(z + threshold, 2 * threshold) - threshold"),
    },
}


# --- borrowed from the course library: in the grading sandbox these are stubs, so they earn nothing -----

BORROWED = {
    "ReplayBuffer": {
        "library_wrapper": """
from gancourse import fixes

class ReplayBuffer:
    def __init__(self, capacity, fraction=0.5, generator=None):
        self.inner = fixes.ReplayBuffer(capacity, fraction, generator)

    def __len__(self):
        return len(self.inner)

    def push(self, fakes):
        self.inner.push(fakes)

    def sample(self, n):
        return self.inner.sample(n)

    def mix(self, fakes):
        return self.inner.mix(fakes)
""",
        "library_object": "from gancourse import fixes\nReplayBuffer = fixes.ReplayBuffer\n",
    },
    "MinibatchDiscrimination": {
        "library_subclass": ("from gancourse import fixes\n"
                             "class MinibatchDiscrimination(fixes.MinibatchDiscrimination):\n"
                             "    def __init__(self, in_features, num_kernels=8, kernel_dim=8):\n"
                             "        super().__init__(in_features, num_kernels, kernel_dim)\n"),
    },
    "wasserstein_critic_loss": {"library_object": "wasserstein_critic_loss = losses.wasserstein_critic_loss\n"},
    "wasserstein_generator_loss": {
        "library_wrapper": ("from gancourse.losses import wasserstein_generator_loss as _lib\n"
                            "def wasserstein_generator_loss(f):\n    return _lib(f)\n"),
    },
    "gradient_penalty": {
        "library_wrapper": ("def gradient_penalty(critic, real, fake, generator=None):\n"
                            "    return losses.gradient_penalty(critic, real, fake, generator=generator)\n"),
    },
    "truncated_latents": {"library_object": "from gancourse.fixes import truncated_latents\n"},
}
