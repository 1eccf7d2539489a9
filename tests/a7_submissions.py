"""Student answers for assignment 7 (beyond DCGAN), as test fixtures: correct ones written differently,
the usual mistakes, and borrowed library objects. Each answer is the source of one answer cell; the
notebook's setup cell provides torch, nn, F, math, np, plt and the course module data."""

# --- correct answers, written in different ways -------------------------------------------------

# The formula written out; a (1, C, 1, 1) weight and torch.randn; the two means added.
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

# PyTorch's own pieces: F.instance_norm, a (C,) weight with randn_like and einsum, F.l1_loss.
LIBRARY_STYLE = {
    "adain": """
def adain(x, scale, bias, eps=1e-5):
    n, c = scale.shape
    normalised = F.instance_norm(x, eps=eps)
    return normalised * scale.view(n, c, 1, 1) + bias.view(n, c, 1, 1)
""",
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

# Statistics over flattened positions with rsqrt; a (C, 1, 1) weight under another name and noise from
# normal_ on a new tensor (the idiom of rosinality's stylegan2-pytorch); a loop over the two cycles.
FLATTENED = {
    "adain": """
def adain(x, scale, bias, eps=1e-5):
    flat = x.flatten(start_dim=2)
    mu = flat.mean(-1)
    sigma2 = ((flat - mu.unsqueeze(-1)) ** 2).mean(-1)
    y = (flat - mu.unsqueeze(-1)) * torch.rsqrt(sigma2 + eps).unsqueeze(-1)
    y = y * scale.unsqueeze(-1) + bias.unsqueeze(-1)
    return y.reshape(x.shape)
""",
    "NoiseInjection": """
class NoiseInjection(torch.nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.strength = torch.nn.Parameter(torch.zeros(channels, 1, 1))

    def forward(self, x, noise=None):
        if noise is None:
            batch, _, height, width = x.shape
            noise = x.new_empty(batch, 1, height, width).normal_()
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

# Tutorial idioms: an nn.InstanceNorm2d module made on the fly, torch.var_mean with correction=0;
# register_parameter, torch.normal with a size and noise.expand_as; nn.L1Loss as a criterion, the
# translations named fake_b and recovered_a as in the PyTorch CycleGAN tutorials, lam=10 as an int.
TUTORIAL = {
    "adain": """
def adain(x, scale, bias, eps=1e-5):
    var, mean = torch.var_mean(x, dim=[2, 3], keepdim=True, correction=0)
    content = nn.InstanceNorm2d(x.size(1), eps=eps, affine=False)(x)
    style_std = scale.unsqueeze(-1).unsqueeze(-1)
    style_mean = bias.unsqueeze(-1).unsqueeze(-1)
    return content * style_std + style_mean
""",
    "NoiseInjection": """
class NoiseInjection(nn.Module):
    def __init__(self, channels):
        super(NoiseInjection, self).__init__()
        self.register_parameter("weight", nn.Parameter(torch.zeros(channels).view(1, -1, 1, 1)))

    def forward(self, x, noise=None):
        if noise is None:
            noise = torch.normal(0.0, 1.0, size=(x.size(0), 1, x.size(2), x.size(3))).to(x)
        return x + self.weight * noise.expand_as(x)
""",
    "cycle_consistency_loss": """
criterion_cycle = nn.L1Loss()

def cycle_consistency_loss(real_a, real_b, g_ab, g_ba, lam=10):
    fake_b = g_ab(real_a)
    recovered_a = g_ba(fake_b)
    fake_a = g_ba(real_b)
    recovered_b = g_ab(fake_a)
    loss_cycle_a = criterion_cycle(recovered_a, real_a)
    loss_cycle_b = criterion_cycle(recovered_b, real_b)
    return lam * loss_cycle_a + lam * loss_cycle_b
""",
}

# AdaIN in one line on F.instance_norm (what a StyleGAN port writes): float32 round-off on a channel whose
# variance is near eps must not cost it its points.
ONE_LINE = dict(LIBRARY_STYLE, adain="def adain(x, scale, bias, eps=1e-5):\n"
                "    return F.instance_norm(x, eps=eps) * scale[:, :, None, None] + bias[:, :, None, None]\n")
CORRECT = {"direct": DIRECT, "library_style": LIBRARY_STYLE, "flattened": FLATTENED, "tutorial": TUTORIAL,
           "one_line": ONE_LINE}


def _edit(source: str, old: str, new: str) -> str:
    assert old in source, old
    return source.replace(old, new)


def _adain_over(dims: str) -> str:
    return f"""
def adain(x, scale, bias, eps=1e-5):
    mean = x.mean(dim={dims}, keepdim=True)
    var = x.var(dim={dims}, unbiased=False, keepdim=True)
    return scale[:, :, None, None] * (x - mean) / torch.sqrt(var + eps) + bias[:, :, None, None]
"""


_NOISE = DIRECT["NoiseInjection"]
_DRAW = "n, _, h, w = x.shape\n            noise = torch.randn(n, 1, h, w, dtype=x.dtype, device=x.device)"
_CYCLE = DIRECT["cycle_consistency_loss"]

# --- the usual mistakes: each one must lose that part's points ----------------------------------
WRONG = {
    "adain": {
        "over_batch": _adain_over("(0, 2, 3)"),
        "over_channels_layer_norm": _adain_over("(1, 2, 3)"),
        "over_channels_only": _adain_over("1"),
        "over_everything": _adain_over("(0, 1, 2, 3)"),
        "scale_bias_swapped": _edit(DIRECT["adain"], "scale[:, :, None, None] * x_hat + bias[:, :, None, None]",
                                    "bias[:, :, None, None] * x_hat + scale[:, :, None, None]"),
        "unbiased_variance": """
def adain(x, scale, bias, eps=1e-5):
    mean, std = x.mean(dim=(2, 3), keepdim=True), x.std(dim=(2, 3), keepdim=True)
    return scale[:, :, None, None] * (x - mean) / torch.sqrt(std ** 2 + eps) + bias[:, :, None, None]
""",
        # Huang's calc_mean_std: .var(dim=2) on the flattened map is the unbiased variance.
        "reference_code_unbiased": """
def calc_mean_std(feat, eps=1e-5):
    n, c = feat.size()[:2]
    feat_var = feat.view(n, c, -1).var(dim=2) + eps
    return feat.view(n, c, -1).mean(dim=2).view(n, c, 1, 1), feat_var.sqrt().view(n, c, 1, 1)

def adain(x, scale, bias, eps=1e-5):
    mean, std = calc_mean_std(x, eps)
    return (x - mean) / std * scale[:, :, None, None] + bias[:, :, None, None]
""",
        "eps_outside_sqrt": _edit(DIRECT["adain"], "torch.sqrt(var + eps)", "(torch.sqrt(var) + eps)"),
        "default_eps_differs": _edit(DIRECT["adain"], "eps=1e-5", "eps=1e-8"),
        "no_style": "def adain(x, scale, bias, eps=1e-5):\n    return F.instance_norm(x, eps=eps)\n",
        "detached_style": _edit(DIRECT["adain"], "return scale[:, :, None, None] * x_hat + bias[:, :, None, None]",
                                "return scale.detach()[:, :, None, None] * x_hat + bias.detach()[:, :, None, None]"),
        "numpy": """
def adain(x, scale, bias, eps=1e-5):
    a = x.detach().numpy()
    y = (a - a.mean(axis=(2, 3), keepdims=True)) / np.sqrt(a.var(axis=(2, 3), keepdims=True) + eps)
    return torch.from_numpy(y) * scale[:, :, None, None] + bias[:, :, None, None]
""",
        "in_place": """
def adain(x, scale, bias, eps=1e-5):
    x.data -= x.data.mean(dim=(2, 3), keepdim=True)
    x.data /= torch.sqrt(x.data.var(dim=(2, 3), unbiased=False, keepdim=True) + eps)
    return scale[:, :, None, None] * x + bias[:, :, None, None]
""",
    },
    "NoiseInjection": {
        "noise_per_channel": _edit(_NOISE, _DRAW, "noise = torch.randn_like(x)"),
        "same_noise_every_sample": _edit(_NOISE, "torch.randn(n, 1, h, w,", "torch.randn(1, 1, h, w,"),
        "same_noise_every_pixel": _edit(_NOISE, "torch.randn(n, 1, h, w,", "torch.randn(n, 1, 1, 1,"),
        "weight_not_learnable": _edit(_NOISE, "self.weight = nn.Parameter(torch.zeros(1, channels, 1, 1))",
                                      "self.register_buffer('weight', torch.zeros(1, channels, 1, 1))"),
        "weight_plain_tensor": _edit(_NOISE, "self.weight = nn.Parameter(torch.zeros(1, channels, 1, 1))",
                                     "self.weight = torch.zeros(1, channels, 1, 1, requires_grad=True)"),
        "weight_frozen": _edit(_NOISE, "nn.Parameter(torch.zeros(1, channels, 1, 1))",
                               "nn.Parameter(torch.zeros(1, channels, 1, 1), requires_grad=False)"),
        "weight_detached": _edit(_NOISE, "return x + self.weight * noise", "return x + self.weight.detach() * noise"),
        "weight_starts_at_one": _edit(_NOISE, "torch.zeros(1, channels", "torch.ones(1, channels"),
        "one_weight_for_all_channels": _edit(_NOISE, "torch.zeros(1, channels, 1, 1)", "torch.zeros(1)"),
        "extra_bias": _edit(_NOISE, "        self.weight = nn.Parameter(torch.zeros(1, channels, 1, 1))\n",
                            "        self.weight = nn.Parameter(torch.zeros(1, channels, 1, 1))\n"
                            "        self.bias = nn.Parameter(torch.zeros(1, channels, 1, 1))\n").replace(
            "return x + self.weight * noise", "return x + self.weight * noise + self.bias"),
        "uniform_noise": _edit(_NOISE, "torch.randn(n, 1, h, w,", "torch.rand(n, 1, h, w,"),
        "half_scale_noise": _edit(_NOISE, "noise = torch.randn(n, 1, h, w, dtype=x.dtype, device=x.device)",
                                  "noise = 0.5 * torch.randn(n, 1, h, w, dtype=x.dtype, device=x.device)"),
        "sign_noise": _edit(_NOISE, "noise = torch.randn(n, 1, h, w, dtype=x.dtype, device=x.device)",
                            "noise = torch.randn(n, 1, h, w, dtype=x.dtype, device=x.device).sign()"),
        "noise_scaled_by_x": _edit(_NOISE, "noise = torch.randn(n, 1, h, w, dtype=x.dtype, device=x.device)",
                                   "noise = torch.randn(n, 1, h, w, dtype=x.dtype, device=x.device) * x.std()"),
        "noise_drawn_once": """
class NoiseInjection(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.fixed = {}

    def forward(self, x, noise=None):
        if noise is None:
            n, _, h, w = x.shape
            if (n, h, w) not in self.fixed:
                self.fixed[(n, h, w)] = torch.randn(n, 1, h, w)
            noise = self.fixed[(n, h, w)]
        return x + self.weight * noise
""",
        "ignores_given_noise": _edit(_NOISE, "if noise is None:", "if True:"),
        "given_noise_squeezed_wrongly": _edit(_NOISE, "return x + self.weight * noise",
                                              "return x + self.weight * noise.transpose(2, 3).reshape(noise.shape)"),
        "noise_argument_renamed": _edit(_NOISE, "def forward(self, x, noise=None):\n        if noise is None:",
                                        "def forward(self, x, z=None):\n        noise = z\n        if noise is None:"),
        "channels_argument_renamed": _edit(_NOISE, "def __init__(self, channels):\n        super().__init__()\n"
                                           "        self.weight = nn.Parameter(torch.zeros(1, channels, 1, 1))",
                                           "def __init__(self, num_channels):\n        super().__init__()\n"
                                           "        self.weight = nn.Parameter(torch.zeros(1, num_channels, 1, 1))"),
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
        "lam_one_by_default": _edit(_CYCLE, "lam=10.0", "lam=1.0"),
        "l2_not_l1": """
def cycle_consistency_loss(real_a, real_b, g_ab, g_ba, lam=10.0):
    return lam * (F.mse_loss(g_ba(g_ab(real_a)), real_a) + F.mse_loss(g_ab(g_ba(real_b)), real_b))
""",
        "sum_not_mean": _edit(_CYCLE, "(g_ba(g_ab(real_a)) - real_a).abs().mean()",
                              "(g_ba(g_ab(real_a)) - real_a).abs().sum()").replace(
            "(g_ab(g_ba(real_b)) - real_b).abs().mean()", "(g_ab(g_ba(real_b)) - real_b).abs().sum()"),
        "one_mean_over_both": """
def cycle_consistency_loss(real_a, real_b, g_ab, g_ba, lam=10.0):
    errors = torch.cat([(g_ba(g_ab(real_a)) - real_a).abs().flatten(), (g_ab(g_ba(real_b)) - real_b).abs().flatten()])
    return lam * errors.mean()
""",
        # The PyTorch-GAN CycleGAN averages the two cycles: half the course's (and the paper's) loss.
        "averaged_cycles": _edit(_CYCLE, "return lam * (forward_cycle + backward_cycle)",
                                 "return lam * (forward_cycle + backward_cycle) / 2"),
        "detached_generators": """
def cycle_consistency_loss(real_a, real_b, g_ab, g_ba, lam=10.0):
    fake_b, fake_a = g_ab(real_a).detach(), g_ba(real_b).detach()
    return lam * ((g_ba(fake_b) - real_a).abs().mean() + (g_ab(fake_a) - real_b).abs().mean())
""",
        "returns_a_float": _edit(_CYCLE, "return lam * (forward_cycle + backward_cycle)",
                                 "return (lam * (forward_cycle + backward_cycle)).item()"),
        "per_sample_losses": """
def cycle_consistency_loss(real_a, real_b, g_ab, g_ba, lam=10.0):
    forward_cycle = (g_ba(g_ab(real_a)) - real_a).abs().flatten(1).mean(1)
    backward_cycle = (g_ab(g_ba(real_b)) - real_b).abs().flatten(1).mean(1)
    return lam * (forward_cycle.mean() + backward_cycle)
""",
    },
}


# --- borrowed from the course library: in the grading sandbox these are stubs, so they earn nothing -----

BORROWED = {
    "adain": {
        "library_object": "from gancourse.stylegan import adain\n",
        "library_wrapper": """
from gancourse import stylegan as _sg

def adain(x, scale, bias, eps=1e-5):
    return _sg.adain(x, scale, bias, eps)
""",
    },
    "NoiseInjection": {
        "library_subclass": "from gancourse import stylegan as _sg\n\nclass NoiseInjection(_sg.NoiseInjection):\n"
                            "    pass\n",
        "library_wrapper": """
from gancourse import stylegan as _sg

class NoiseInjection(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.inner = _sg.NoiseInjection(channels)

    def forward(self, x, noise=None):
        return self.inner(x, noise)
""",
        "library_forward": """
from gancourse import stylegan as _sg

class NoiseInjection(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x, noise=None):
        return _sg.NoiseInjection.forward(self, x, noise)
""",
    },
    "cycle_consistency_loss": {
        "library_object": "from gancourse.cyclegan import cycle_consistency_loss\n",
        "library_objective": """
from gancourse import cyclegan as _cg

def cycle_consistency_loss(real_a, real_b, g_ab, g_ba, lam=10.0):
    first = lambda x: x.flatten(1)[:, 0]
    return _cg.generator_objective(real_a, real_b, g_ab, g_ba, first, first, lam)["cycle"]
""",
    },
}
