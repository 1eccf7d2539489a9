"""Student answers for assignment 7, as test fixtures: correct ones written differently, the usual
mistakes, and answers borrowed from the course library. Each answer is the source of one answer cell."""

# --- correct answers, written in different ways -------------------------------------------------
DIRECT = {
    "adain": """
def adain(x, scale, bias, eps=1e-5):
    mean = x.mean(dim=(2, 3), keepdim=True)
    var = x.var(dim=(2, 3), unbiased=False, keepdim=True)
    x_hat = (x - mean) / torch.sqrt(var + eps)
    return scale[:, :, None, None] * x_hat + bias[:, :, None, None]
""",
    "NoiseInjection": """
class NoiseInjection(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x, noise=None):
        if noise is None:
            n, _, h, w = x.shape
            noise = torch.randn(n, 1, h, w, dtype=x.dtype, device=x.device)
        return x + self.weight * noise
""",
    "cycle_consistency_loss": """
def cycle_consistency_loss(real_a, real_b, g_ab, g_ba, lam=10.0):
    forward_cycle = (g_ba(g_ab(real_a)) - real_a).abs().mean()
    backward_cycle = (g_ab(g_ba(real_b)) - real_b).abs().mean()
    return lam * (forward_cycle + backward_cycle)
""",
}

LIBRARY_STYLE = {
    # PyTorch's own instance norm, then the style.
    "adain": """
def adain(x, scale, bias, eps=1e-5):
    n, c = scale.shape
    normalised = F.instance_norm(x, eps=eps)
    return normalised * scale.view(n, c, 1, 1) + bias.view(n, c, 1, 1)
""",
    # A (C,) weight, noise made with randn_like on one channel, combined with einsum.
    "NoiseInjection": """
class NoiseInjection(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(channels))

    def forward(self, x, noise=None):
        if noise is None:
            noise = torch.randn_like(x[:, :1])
        return x + torch.einsum("c,nhw->nchw", self.weight, noise[:, 0])
""",
    "cycle_consistency_loss": """
def cycle_consistency_loss(real_a, real_b, g_ab, g_ba, lam=10.0):
    return lam * (F.l1_loss(g_ba(g_ab(real_a)), real_a) + F.l1_loss(g_ab(g_ba(real_b)), real_b))
""",
}

FLATTENED = {
    # Statistics over the flattened spatial positions, with rsqrt.
    "adain": """
def adain(x, scale, bias, eps=1e-5):
    flat = x.flatten(start_dim=2)
    mu = flat.mean(-1)
    sigma2 = ((flat - mu.unsqueeze(-1)) ** 2).mean(-1)
    y = (flat - mu.unsqueeze(-1)) * torch.rsqrt(sigma2 + eps).unsqueeze(-1)
    y = y * scale.unsqueeze(-1) + bias.unsqueeze(-1)
    return y.reshape(x.shape)
""",
    # A (C, 1, 1) weight and noise from normal_ on a new tensor.
    "NoiseInjection": """
class NoiseInjection(torch.nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.strength = torch.nn.Parameter(torch.zeros(channels, 1, 1))

    def forward(self, x, noise=None):
        if noise is None:
            noise = x.new_empty((x.shape[0], 1) + tuple(x.shape[2:])).normal_()
        return x + self.strength.unsqueeze(0) * noise
""",
    "cycle_consistency_loss": """
def cycle_consistency_loss(real_a, real_b, g_ab, g_ba, lam=10.0):
    total = 0.0
    for real, there, back in ((real_a, g_ab, g_ba), (real_b, g_ba, g_ab)):
        total = total + torch.mean(torch.abs(back(there(real)) - real))
    return lam * total
""",
}

CORRECT = {"direct": DIRECT, "library_style": LIBRARY_STYLE, "flattened": FLATTENED}


def _adain_over(dims: str) -> str:
    return f"""
def adain(x, scale, bias, eps=1e-5):
    mean = x.mean(dim={dims}, keepdim=True)
    var = x.var(dim={dims}, unbiased=False, keepdim=True)
    return scale[:, :, None, None] * (x - mean) / torch.sqrt(var + eps) + bias[:, :, None, None]
"""


# --- the usual mistakes: each one must lose that part's points ----------------------------------
WRONG = {
    "adain": {
        "over_batch": _adain_over("(0, 2, 3)"),
        "over_channels_layer_norm": _adain_over("(1, 2, 3)"),
        "over_channels_only": _adain_over("1"),
        "over_everything": _adain_over("(0, 1, 2, 3)"),
        "scale_bias_swapped": DIRECT["adain"].replace(
            "scale[:, :, None, None] * x_hat + bias[:, :, None, None]",
            "bias[:, :, None, None] * x_hat + scale[:, :, None, None]"),
        "unbiased_variance": """
def adain(x, scale, bias, eps=1e-5):
    mean, std = x.mean(dim=(2, 3), keepdim=True), x.std(dim=(2, 3), keepdim=True)
    return scale[:, :, None, None] * (x - mean) / torch.sqrt(std ** 2 + eps) + bias[:, :, None, None]
""",
        "no_style": """
def adain(x, scale, bias, eps=1e-5):
    return F.instance_norm(x, eps=eps)
""",
        "library_object": "from gancourse.stylegan import adain",
        "library_wrapper": """
from gancourse import stylegan as _sg
def adain(x, scale, bias, eps=1e-5):
    return _sg.adain(x, scale, bias, eps)
""",
    },
    "NoiseInjection": {
        "noise_per_channel": DIRECT["NoiseInjection"].replace(
            "n, _, h, w = x.shape\n            noise = torch.randn(n, 1, h, w, dtype=x.dtype, device=x.device)",
            "noise = torch.randn_like(x)"),
        "same_noise_every_sample": DIRECT["NoiseInjection"].replace(
            "torch.randn(n, 1, h, w,", "torch.randn(1, 1, h, w,"),
        "weight_not_learnable": DIRECT["NoiseInjection"].replace(
            "self.weight = nn.Parameter(torch.zeros(1, channels, 1, 1))",
            "self.register_buffer('weight', torch.zeros(1, channels, 1, 1))"),
        "weight_plain_tensor": DIRECT["NoiseInjection"].replace(
            "self.weight = nn.Parameter(torch.zeros(1, channels, 1, 1))",
            "self.weight = torch.zeros(1, channels, 1, 1, requires_grad=True)"),
        "weight_starts_at_one": DIRECT["NoiseInjection"].replace("torch.zeros(1, channels", "torch.ones(1, channels"),
        "one_weight_for_all_channels": DIRECT["NoiseInjection"].replace(
            "torch.zeros(1, channels, 1, 1)", "torch.zeros(1)"),
        "uniform_noise": DIRECT["NoiseInjection"].replace("torch.randn(n, 1, h, w,", "torch.rand(n, 1, h, w,"),
        "ignores_given_noise": DIRECT["NoiseInjection"].replace("if noise is None:", "if True:"),
        "library_object": "from gancourse.stylegan import NoiseInjection",
        "library_subclass": ("from gancourse import stylegan as _sg\n"
                             "class NoiseInjection(_sg.NoiseInjection):\n    pass"),
        "library_wrapper": """
from gancourse import stylegan as _sg
class NoiseInjection(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.inner = _sg.NoiseInjection(channels)

    def forward(self, x, noise=None):
        return self.inner(x, noise)
""",
    },
    "cycle_consistency_loss": {
        "forward_cycle_only": """
def cycle_consistency_loss(real_a, real_b, g_ab, g_ba, lam=10.0):
    return lam * (g_ba(g_ab(real_a)) - real_a).abs().mean()
""",
        "ignores_lam": """
def cycle_consistency_loss(real_a, real_b, g_ab, g_ba, lam=10.0):
    return F.l1_loss(g_ba(g_ab(real_a)), real_a) + F.l1_loss(g_ab(g_ba(real_b)), real_b)
""",
        "lam_one_by_default": DIRECT["cycle_consistency_loss"].replace("lam=10.0", "lam=1.0"),
        "l2_not_l1": """
def cycle_consistency_loss(real_a, real_b, g_ab, g_ba, lam=10.0):
    return lam * (F.mse_loss(g_ba(g_ab(real_a)), real_a) + F.mse_loss(g_ab(g_ba(real_b)), real_b))
""",
        "sum_not_mean": DIRECT["cycle_consistency_loss"].replace(".abs().mean()", ".abs().sum()"),
        "one_mean_over_both": """
def cycle_consistency_loss(real_a, real_b, g_ab, g_ba, lam=10.0):
    errors = torch.cat([(g_ba(g_ab(real_a)) - real_a).abs().flatten(), (g_ab(g_ba(real_b)) - real_b).abs().flatten()])
    return lam * errors.mean()
""",
        "detached_generators": """
def cycle_consistency_loss(real_a, real_b, g_ab, g_ba, lam=10.0):
    fake_b, fake_a = g_ab(real_a).detach(), g_ba(real_b).detach()
    return lam * ((g_ba(fake_b) - real_a).abs().mean() + (g_ab(fake_a) - real_b).abs().mean())
""",
        "library_object": "from gancourse.cyclegan import cycle_consistency_loss",
        "library_wrapper": """
from gancourse import cyclegan as _cg
def cycle_consistency_loss(real_a, real_b, g_ab, g_ba, lam=10.0):
    return _cg.generator_objective(real_a, real_b, g_ab, g_ba, lambda x: x.flatten(1)[:, 0],
                                   lambda x: x.flatten(1)[:, 0], lam)["cycle"]
""",
    },
}
