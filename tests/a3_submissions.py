"""Student answers for assignment 3 (DCGAN), as test fixtures: correct ones written differently, the
usual mistakes, and borrowed library objects. Each answer is the source of one answer cell; the
notebook's setup cell provides torch, nn, F, math and the course modules data, pretrained, viz."""

# --- correct answers, written in different ways -------------------------------------------------

# A Sequential generator with a linear projection and kernel-4 transposed convolutions, a
# Sequential discriminator with a linear head, nn.init, and broadcasting for the paths.
SEQUENTIAL = {
    "DCGANGenerator": """
class DCGANGenerator(nn.Module):
    def __init__(self, latent_dim=100, width=256):
        super().__init__()
        c = 4 * width
        self.project = nn.Sequential(nn.Linear(latent_dim, c * 7 * 7, bias=False), nn.BatchNorm1d(c * 7 * 7),
                                     nn.ReLU())
        self.upsample = nn.Sequential(
            nn.Unflatten(1, (c, 7, 7)),
            nn.ConvTranspose2d(c, c // 2, 4, stride=2, padding=1, bias=False),  # 7 -> 14
            nn.BatchNorm2d(c // 2), nn.ReLU(),
            nn.ConvTranspose2d(c // 2, 1, 4, stride=2, padding=1),  # 14 -> 28, no BatchNorm
            nn.Tanh(),
        )

    def forward(self, z):
        return self.upsample(self.project(z))
""",
    "DCGANDiscriminator": """
class DCGANDiscriminator(nn.Module):
    def __init__(self, dropout=0.3, in_channels=1, width=64):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),  # 28 -> 14, no BatchNorm
            nn.Dropout(dropout),
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1, bias=False),  # 14 -> 7
            nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2), nn.Dropout(dropout),
            nn.Flatten(),
        )
        self.logit = nn.Linear(2 * width * 7 * 7, 1)

    def forward(self, x):
        return self.logit(self.features(x)).squeeze(1)
""",
    "dcgan_weights_init": """
def dcgan_weights_init(module):
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
""",
    "lerp": """
def lerp(z0, z1, t):
    t = torch.as_tensor(t, dtype=z0.dtype)
    if t.dim() == 1:
        t = t[:, None]  # one row per position
    return (1 - t) * z0 + t * z1
""",
    "slerp": """
def slerp(z0, z1, t):
    t = torch.as_tensor(t, dtype=z0.dtype)
    if t.dim() == 1:
        t = t[:, None]
    cos_omega = torch.clamp(torch.dot(z0 / z0.norm(), z1 / z1.norm()), -1.0, 1.0)
    omega = torch.arccos(cos_omega)
    if omega < 1e-4:  # (nearly) parallel: the formula's limit is the straight line
        return (1 - t) * z0 + t * z1
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)
""",
}

# The classic DCGAN projection (z as a 1x1 map through a 7x7 transposed convolution), kernel-5
# upsampling and a functional forward; a fully convolutional D returning (N, 1); the pytorch
# example's class-name init; torch.lerp; the half-angle formula for the angle.
CONVOLUTIONAL = {
    "DCGANGenerator": """
class DCGANGenerator(nn.Module):
    def __init__(self, latent_dim=100, width=256):
        super().__init__()
        self.latent_dim = latent_dim
        self.convs = nn.ModuleList([
            nn.ConvTranspose2d(latent_dim, 4 * width, 7, bias=False),  # 1x1 -> 7x7
            nn.ConvTranspose2d(4 * width, 2 * width, 5, 2, padding=2, output_padding=1, bias=False),  # 14
            nn.ConvTranspose2d(2 * width, width, 5, 2, padding=2, output_padding=1, bias=False),  # 28
        ])
        self.norms = nn.ModuleList([nn.BatchNorm2d(c) for c in (4 * width, 2 * width, width)])
        self.to_pixels = nn.Conv2d(width, 1, 3, padding=1)

    def forward(self, z):
        h = z.view(-1, self.latent_dim, 1, 1)
        for conv, norm in zip(self.convs, self.norms):
            h = F.relu(norm(conv(h)))
        return torch.tanh(self.to_pixels(h))
""",
    "DCGANDiscriminator": """
class DCGANDiscriminator(nn.Module):
    def __init__(self, dropout=0.3, in_channels=1, width=64):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, width, 5, 2, 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Dropout2d(dropout),
            nn.Conv2d(width, width * 2, 5, 2, 2, bias=False),
            nn.BatchNorm2d(width * 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(width * 2, 1, 7),  # 7x7 -> one logit
        )

    def forward(self, x):
        return self.net(x).view(-1)  # as the PyTorch DCGAN tutorial flattens D's output
""",
    "dcgan_weights_init": """
def dcgan_weights_init(m):
    classname = m.__class__.__name__  # the PyTorch DCGAN tutorial's way
    if classname.find("Conv") != -1:
        nn.init.normal_(m.weight.data, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        nn.init.normal_(m.weight.data, 1.0, 0.02)
        nn.init.constant_(getattr(m, "bias").data, 0)
""",
    "lerp": """
def lerp(z0, z1, t):
    if isinstance(t, torch.Tensor) and t.ndim == 1:
        return torch.lerp(z0.expand(len(t), -1), z1.expand(len(t), -1), t.unsqueeze(1).to(z0.dtype))
    return torch.lerp(z0, z1, torch.as_tensor(t, dtype=z0.dtype))
""",
    "slerp": """
def slerp(z0, z1, t):
    t = torch.as_tensor(t, dtype=z0.dtype)
    t = t.reshape(-1, 1) if t.dim() == 1 else t
    u0, u1 = z0 / z0.norm(), z1 / z1.norm()
    omega = 2 * torch.atan2((u0 - u1).norm(), (u0 + u1).norm())  # accurate for small angles too
    if torch.sin(omega) < 1e-6:
        return z0 + t * (z1 - z0)
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)
""",
}

# A generator projecting to a 7x7 map with BatchNorm2d after the reshape and kernel-3 transposed
# convolutions; a functional discriminator with three strided convolutions and dropout; a manual
# init with copy_; a loop for lerp; slerp with Python floats per position.
FUNCTIONAL = {
    "DCGANGenerator": """
class DCGANGenerator(nn.Module):
    def __init__(self, latent_dim=100, width=256):
        super().__init__()
        self.width = width
        self.fc = nn.Linear(latent_dim, 2 * width * 49)
        self.bn0 = nn.BatchNorm2d(2 * width)
        self.up1 = nn.ConvTranspose2d(2 * width, width, 3, stride=2, padding=1, output_padding=1)
        self.bn1 = nn.BatchNorm2d(width)
        self.up2 = nn.ConvTranspose2d(width, width, 3, stride=2, padding=1, output_padding=1)
        self.bn2 = nn.BatchNorm2d(width)
        self.out = nn.ConvTranspose2d(width, 1, 3, stride=1, padding=1)

    def forward(self, z):
        h = F.relu(self.bn0(self.fc(z).view(len(z), 2 * self.width, 7, 7)))
        h = F.relu(self.bn1(self.up1(h)))
        h = F.relu(self.bn2(self.up2(h)))
        return self.out(h).tanh()
""",
    "DCGANDiscriminator": """
class DCGANDiscriminator(nn.Module):
    def __init__(self, dropout=0.3, in_channels=1, width=64):
        super().__init__()
        self.c1 = nn.Conv2d(in_channels, width, 3, 2, 1)     # 28 -> 14
        self.c2 = nn.Conv2d(width, 2 * width, 3, 2, 1)       # 14 -> 7
        self.b2 = nn.BatchNorm2d(2 * width)
        self.c3 = nn.Conv2d(2 * width, 4 * width, 3, 2, 1)   # 7 -> 4
        self.b3 = nn.BatchNorm2d(4 * width)
        self.head = nn.Linear(4 * width * 16, 1)
        self.p = dropout

    def forward(self, x):
        h = F.dropout(F.leaky_relu(self.c1(x), 0.2), self.p, self.training)
        h = F.dropout(F.leaky_relu(self.b2(self.c2(h)), 0.2), self.p, self.training)
        h = F.leaky_relu(self.b3(self.c3(h)), 0.2)
        return self.head(h.flatten(1))[:, 0]
""",
    "dcgan_weights_init": """
def dcgan_weights_init(module):
    with torch.no_grad():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            module.weight.copy_(0.02 * torch.randn_like(module.weight))
            if module.bias is not None:
                module.bias.zero_()
        elif isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.weight.copy_(1 + 0.02 * torch.randn_like(module.weight))
            module.bias.zero_()
""",
    "lerp": """
def lerp(z0, z1, t):
    if isinstance(t, torch.Tensor) and t.dim() == 1:
        return torch.stack([z0 + s * (z1 - z0) for s in t])
    return z0 + t * (z1 - z0)
""",
    "slerp": """
def slerp(z0, z1, t):
    cos = float(z0 @ z1) / (float(z0.norm()) * float(z1.norm()))
    omega = math.acos(max(-1.0, min(1.0, cos)))

    def point(s):
        s = float(s)
        if omega < 1e-6:
            return (1 - s) * z0 + s * z1
        return (math.sin((1 - s) * omega) * z0 + math.sin(s * omega) * z1) / math.sin(omega)

    if isinstance(t, torch.Tensor) and t.dim() == 1:
        return torch.stack([point(s) for s in t])
    return point(t)
""",
}

# slerp calling the notebook's own lerp: graded with the grader's lerp in its place.
CALLS_LERP = dict(SEQUENTIAL, slerp="""
def slerp(z0, z1, t):
    cos_omega = torch.clamp(torch.dot(z0 / z0.norm(), z1 / z1.norm()), -1.0, 1.0)
    omega = torch.arccos(cos_omega)
    if omega < 1e-4:
        return lerp(z0, z1, t)
    w = torch.as_tensor(t, dtype=z0.dtype)
    w = w[:, None] if w.dim() == 1 else w
    return (torch.sin((1 - w) * omega) * z0 + torch.sin(w * omega) * z1) / torch.sin(omega)
""")

# BatchNorm's running statistics as a cumulative average (momentum=None) in both networks: the layer reads its batch
# count as a Python number in training mode, which no trace could follow (an outside student's pass, 8/12)
CUMULATIVE_BATCHNORM = {part: source.replace("nn.BatchNorm1d(c * 7 * 7)", "nn.BatchNorm1d(c * 7 * 7, momentum=None)")
                        .replace("nn.BatchNorm2d(c // 2)", "nn.BatchNorm2d(c // 2, momentum=None)")
                        .replace("nn.BatchNorm2d(2 * width)", "nn.BatchNorm2d(2 * width, momentum=None)")
                        for part, source in SEQUENTIAL.items()}
assert all(CUMULATIVE_BATCHNORM[p].count("momentum=None") == n for p, n in (("DCGANGenerator", 2),
                                                                            ("DCGANDiscriminator", 1)))

# A discriminator with spectral norm on every convolution (an other-style student's pass: its power iteration's
# matrix-vector products were counted as 9 dense layers, and its in-place update broke the judge's replay).
SPECTRAL_NORM = dict(SEQUENTIAL, DCGANDiscriminator="""
from torch.nn.utils.parametrizations import spectral_norm


class DCGANDiscriminator(nn.Module):
    # DCGAN discriminator with spectral normalisation on every convolution (SN-GAN style), BatchNorm as asked
    def __init__(self, dropout=0.3, in_channels=1, width=64):
        super().__init__()
        self.main = nn.Sequential(
            spectral_norm(nn.Conv2d(in_channels, width, 4, 2, 1)),          # 28 -> 14
            nn.LeakyReLU(0.2),
            nn.Dropout(dropout),
            spectral_norm(nn.Conv2d(width, width * 2, 4, 2, 1)),            # 14 -> 7
            nn.BatchNorm2d(width * 2),
            nn.LeakyReLU(0.2),
            nn.Dropout(dropout),
            spectral_norm(nn.Conv2d(width * 2, 1, 7, 1, 0)),                # 7 -> 1
        )

    def forward(self, x):
        return self.main(x).view(-1)
""")

CORRECT = {"sequential": SEQUENTIAL, "convolutional": CONVOLUTIONAL, "functional": FUNCTIONAL,
           "calls_lerp": CALLS_LERP, "cumulative_batchnorm": CUMULATIVE_BATCHNORM, "spectral_norm": SPECTRAL_NORM}


def _edit(source: str, old: str, new: str) -> str:
    assert old in source, old
    return source.replace(old, new)


# --- the usual mistakes -------------------------------------------------------------------------
_G = SEQUENTIAL["DCGANGenerator"]
_D = SEQUENTIAL["DCGANDiscriminator"]
_INIT = SEQUENTIAL["dcgan_weights_init"]

WRONG = {
    "DCGANGenerator": {
        "output_batchnorm": _edit(_G, "nn.Tanh(),", "nn.BatchNorm2d(1), nn.Tanh(),"),
        "detached_projection": _edit(_G, "return self.upsample(self.project(z))",
                                     "return self.upsample(self.project(z).detach())"),
        "no_tanh": _edit(_G, "nn.Tanh(),", ""),
        "sigmoid_output": _edit(_G, "nn.Tanh(),", "nn.Sigmoid(),"),
        "size_32": """
class DCGANGenerator(nn.Module):
    def __init__(self, latent_dim=100, width=256):
        super().__init__()
        self.project = nn.Sequential(nn.Linear(latent_dim, 4 * width * 16), nn.BatchNorm1d(4 * width * 16), nn.ReLU(),
                                     nn.Unflatten(1, (4 * width, 4, 4)))
        self.up = nn.Sequential(
            nn.ConvTranspose2d(4 * width, 2 * width, 4, 2, 1), nn.BatchNorm2d(2 * width), nn.ReLU(),  # 8
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1), nn.BatchNorm2d(width), nn.ReLU(),  # 16
            nn.ConvTranspose2d(width, 1, 4, 2, 1), nn.Tanh())  # 32

    def forward(self, z):
        return self.up(self.project(z))
""",
        # a dense network with a token convolution (a student's attempt to pass as a DCGAN)
        "dense_layers_no_upsampling": """
class DCGANGenerator(nn.Module):
    def __init__(self, latent_dim=100, width=256):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(latent_dim, 2 * width), nn.BatchNorm1d(2 * width), nn.ReLU(),
                                 nn.Linear(2 * width, 28 * 28), nn.Unflatten(1, (1, 28, 28)), nn.Conv2d(1, 1, 1),
                                 nn.Tanh())

    def forward(self, z):
        return self.net(z)
""",
        "functional_batchnorm_at_output": _edit(
            CONVOLUTIONAL["DCGANGenerator"], "return torch.tanh(self.to_pixels(h))",
            "x = self.to_pixels(h)\n        return torch.tanh(F.batch_norm(x, None, None, training=True))"),
        "hand_made_batchnorm_at_output": _edit(
            FUNCTIONAL["DCGANGenerator"], "return self.out(h).tanh()",
            "x = self.out(h)\n        x = (x - x.mean(dim=(0, 2, 3), keepdim=True))\n"
            "        x = x / x.std(dim=(0, 2, 3), keepdim=True)\n        return x.tanh()"),
    },
    "DCGANDiscriminator": {
        "input_batchnorm": _edit(_D, "nn.Conv2d(in_channels, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),",
                                 "nn.BatchNorm2d(in_channels), nn.Conv2d(in_channels, width, 4, stride=2, padding=1), "
                                 "nn.LeakyReLU(0.2),"),
        "default_leaky_slope": _edit(_D, "nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2)",
                                     "nn.BatchNorm2d(2 * width), nn.LeakyReLU()"),
        "relu": _edit(_D, "nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2)", "nn.BatchNorm2d(2 * width), nn.ReLU()"),
        "one_strided_convolution_then_dense": """
class DCGANDiscriminator(nn.Module):
    def __init__(self, dropout=0.3, in_channels=1, width=64):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(in_channels, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
                                 nn.Flatten(), nn.Linear(width * 14 * 14, 2 * width), nn.BatchNorm1d(2 * width),
                                 nn.LeakyReLU(0.2), nn.Dropout(dropout), nn.Linear(2 * width, 1))

    def forward(self, x):
        return self.net(x).view(-1)
""",
        "squeeze_all": _edit(_D, "return self.logit(self.features(x)).squeeze(1)",
                             "return self.logit(self.features(x)).squeeze()"),
        "returns_column": _edit(_D, "return self.logit(self.features(x)).squeeze(1)",
                                "return self.logit(self.features(x))"),
        "dropout_ignored": _edit(_D, "nn.Dropout(dropout),\n", "").replace("nn.Dropout(dropout),", ""),
        "max_pooling": """
class DCGANDiscriminator(nn.Module):
    def __init__(self, dropout=0.3, in_channels=1, width=64):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1), nn.MaxPool2d(2), nn.LeakyReLU(0.2), nn.Dropout(dropout),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.BatchNorm2d(2 * width), nn.MaxPool2d(2),
            nn.LeakyReLU(0.2), nn.Flatten())
        self.logit = nn.Linear(2 * width * 49, 1)

    def forward(self, x):
        return self.logit(self.features(x)).squeeze(1)
""",
        "functional_avg_pooling": """
class DCGANDiscriminator(nn.Module):
    def __init__(self, dropout=0.3, in_channels=1, width=64):
        super().__init__()
        self.p = dropout
        self.c1 = nn.Conv2d(in_channels, width, 3, padding=1)
        self.c2 = nn.Conv2d(width, 2 * width, 3, padding=1)
        self.bn = nn.BatchNorm2d(2 * width)
        self.head = nn.Linear(2 * width * 49, 1)

    def forward(self, x):
        h = F.dropout(F.avg_pool2d(F.leaky_relu(self.c1(x), 0.2), 2), self.p, self.training)
        h = F.avg_pool2d(F.leaky_relu(self.bn(self.c2(h)), 0.2), 2)
        return self.head(h.flatten(1)).squeeze(1)
""",
        "sigmoid_output": _edit(_D, "return self.logit(self.features(x)).squeeze(1)",
                                "return torch.sigmoid(self.logit(self.features(x))).squeeze(1)"),
    },
    "dcgan_weights_init": {
        "std_one": _edit(_INIT, "nn.init.normal_(module.weight, 0.0, 0.02)", "nn.init.normal_(module.weight)"),
        "batchnorm_weight_zero": _edit(_INIT, "nn.init.normal_(module.weight, 1.0, 0.02)",
                                       "nn.init.normal_(module.weight, 0.0, 0.02)"),
        "batchnorm_bias_left": _edit(_INIT, "        nn.init.zeros_(module.bias)\n", ""),
        "uniform": _edit(_INIT, "nn.init.normal_(module.weight, 0.0, 0.02)",
                         "nn.init.uniform_(module.weight, -0.02 * 3 ** 0.5, 0.02 * 3 ** 0.5)"),
        "conv2d_only": _edit(_INIT, "(nn.Conv2d, nn.ConvTranspose2d)", "nn.Conv2d"),
        # the moments of N(0, 0.02^2) without a single random draw: sorted quantiles, the same every call
        "sorted_quantiles": """
def dcgan_weights_init(module):
    def quantiles(n):
        p = (torch.arange(n, dtype=torch.float64) + 0.5) / n
        return (torch.erfinv(2 * p - 1) * math.sqrt(2)).float()
    with torch.no_grad():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            module.weight.copy_(quantiles(module.weight.numel()).reshape(module.weight.shape) * 0.02)
        elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            module.weight.copy_(1 + 0.02 * quantiles(module.weight.numel()))
            module.bias.zero_()
""",
        # the same, in a fixed shuffled order: no trend, but the same weights on every call
        "fixed_shuffled_quantiles": """
def dcgan_weights_init(module):
    def quantiles(n):
        p = (torch.arange(n, dtype=torch.float64) + 0.5) / n
        order = torch.randperm(n, generator=torch.Generator().manual_seed(0))
        return (torch.erfinv(2 * p - 1) * math.sqrt(2)).float()[order]
    with torch.no_grad():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            module.weight.copy_(quantiles(module.weight.numel()).reshape(module.weight.shape) * 0.02)
        elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            module.weight.copy_(1 + 0.02 * quantiles(module.weight.numel()))
            module.bias.zero_()
""",
    },
    "lerp": {
        "swapped_endpoints": _edit(SEQUENTIAL["lerp"], "(1 - t) * z0 + t * z1", "t * z0 + (1 - t) * z1"),
        "no_batch_of_t": "def lerp(z0, z1, t):\n    return (1 - t) * z0 + t * z1\n",
    },
    "slerp": {
        # the straight line for every angle below 0.5 rad (29 degrees), not only where sin(angle) is 0
        "straight_below_half_a_radian": """
def slerp(z0, z1, t):
    t = torch.as_tensor(t, dtype=z0.dtype)
    t = t[:, None] if t.dim() == 1 else t
    omega = torch.arccos(torch.clamp(torch.dot(z0 / z0.norm(), z1 / z1.norm()), -1, 1))
    if float(omega) < 0.5:
        return (1 - t) * z0 + t * z1
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)
""",
        "normalised_lerp": """
def slerp(z0, z1, t):
    t = torch.as_tensor(t, dtype=z0.dtype)
    if t.dim() == 1:
        t = t[:, None]
    line = (1 - t) * z0 + t * z1
    length = (1 - t) * z0.norm() + t * z1.norm()
    return line / line.norm(dim=-1, keepdim=True) * length
""",
        "nan_when_parallel": _edit(SEQUENTIAL["slerp"], "    if omega < 1e-4:  # (nearly) parallel: the formula's "
                                   "limit is the straight line\n        return (1 - t) * z0 + t * z1\n", ""),
        "swapped_endpoints": _edit(SEQUENTIAL["slerp"], "torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1",
                                   "torch.sin(t * omega) * z0 + torch.sin((1 - t) * omega) * z1"),
    },
}


# --- borrowed from the course library: in the grading sandbox these are stubs, so they earn nothing -----

BORROWED = {
    "DCGANGenerator": {
        "library_object": "from gancourse.nets import DCGANGenerator\n",
        "library_subclass": """
from gancourse import nets

class DCGANGenerator(nets.DCGANGenerator):
    def __init__(self, latent_dim=100, width=256):
        super().__init__(latent_dim, width=width)
""",
    },
    "DCGANDiscriminator": {
        "library_wrapper": """
from gancourse import nets

class DCGANDiscriminator(nn.Module):
    def __init__(self, dropout=0.3, in_channels=1, width=64):
        super().__init__()
        self.inner = nets.DCGANDiscriminator(dropout, in_channels, width=width)

    def forward(self, x):
        return self.inner(x)
""",
    },
    "dcgan_weights_init": {"library_object": "from gancourse.nets import dcgan_weights_init\n"},
    "lerp": {"library_wrapper": "import gancourse.latent\n\ndef lerp(z0, z1, t):\n"
                                "    return gancourse.latent.lerp(z0, z1, t)\n"},
    "slerp": {"library_object": "from gancourse.latent import slerp\n"},
}
