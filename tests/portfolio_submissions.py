"""Student answers for the portfolio (conditional DCGAN), as test fixtures: correct answers written in
genuinely different ways, the usual mistakes, and library borrowings. Each answer is the source a
student would type into one answer cell (grade_id = the function or class name). The networks are
assignment 4's: written here part by part, they become the portfolio's one ungraded "networks" cell
(:func:`as_portfolio`)."""

# --- variant "planes": one-hot planes in D, replay buffer as tensors, library metrics ------------------
PLANES = {
    "one_hot": """
def one_hot(labels, n_classes=10):
    return F.one_hot(labels.long(), n_classes).float()
""",
    "ConditionalGenerator": """
class ConditionalGenerator(nn.Module):
    def __init__(self, latent_dim=100, n_classes=10, width=256):
        super().__init__()
        self.latent_dim, self.n_classes = latent_dim, n_classes
        self.net = nn.Sequential(
            nn.ConvTranspose2d(latent_dim + n_classes, 2 * width, 7, 1, 0, bias=False), nn.BatchNorm2d(2 * width),
            nn.ReLU(),
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
            nn.ConvTranspose2d(width, 1, 4, 2, 1), nn.Tanh())

    def forward(self, z, labels):
        code = torch.cat([z, one_hot(labels, self.n_classes)], dim=1)
        return self.net(code[:, :, None, None])
""",
    "ConditionalDiscriminator": """
class MinibatchDiscrimination(nn.Module):
    def __init__(self, in_features, num_kernels=8, kernel_dim=8):
        super().__init__()
        self.num_kernels, self.kernel_dim = num_kernels, kernel_dim
        self.T = nn.Parameter(0.1 * torch.randn(in_features, num_kernels, kernel_dim))

    def forward(self, h):
        rows = torch.einsum("na,abc->nbc", h, self.T)
        l1 = (rows[:, None] - rows[None, :]).abs().sum(dim=-1)
        return torch.cat([h, torch.exp(-l1).sum(dim=1) - 1.0], dim=1)


class ConditionalDiscriminator(nn.Module):
    def __init__(self, n_classes=10, width=64, minibatch=False):
        super().__init__()
        self.n_classes = n_classes
        self.body = nn.Sequential(
            nn.Conv2d(1 + n_classes, width, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2),
            nn.Flatten())
        self.minibatch = MinibatchDiscrimination(2 * width * 49) if minibatch else None
        self.logit = nn.Linear(2 * width * 49 + (8 if minibatch else 0), 1)

    def forward(self, x, labels):
        planes = one_hot(labels, self.n_classes)[:, :, None, None].expand(-1, -1, 28, 28)
        h = self.body(torch.cat([x, planes], dim=1))
        if self.minibatch is not None:
            h = self.minibatch(h)
        return self.logit(h).squeeze(1)
""",
    "train_cgan": """
FIX = "replay"


def train_cgan(G, D, images, labels, steps, batch_size=64, fix=FIX, seed=0, device="cpu", lr=1e-3):
    gen = torch.Generator().manual_seed(seed)
    G.to(device).train()
    D.to(device).train()
    g_opt = torch.optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.999))
    d_opt = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))
    images, labels = images.to(device), labels.to(device)
    old_x, old_y = [], []
    history = {"d_loss": [], "g_loss": []}
    for _ in range(steps):
        idx = torch.randint(len(labels), (batch_size,), generator=gen)
        y_fake = torch.randint(10, (batch_size,), generator=gen)
        with torch.no_grad():
            fake = G(torch.randn(batch_size, G.latent_dim, generator=gen), y_fake)
        x_show, y_show = fake, y_fake
        if fix == "replay" and old_x:
            pool_x, pool_y = torch.cat(old_x), torch.cat(old_y)
            k = torch.randint(len(pool_y), (batch_size // 2,), generator=gen)
            x_show = torch.cat([pool_x[k], fake[batch_size // 2:]])
            y_show = torch.cat([pool_y[k], y_fake[batch_size // 2:]])
        if fix == "replay":
            old_x, old_y = (old_x + [fake])[-20:], (old_y + [y_fake])[-20:]
        d_loss = F.softplus(-D(images[idx], labels[idx])).mean() + F.softplus(D(x_show, y_show)).mean()
        d_opt.zero_grad()
        d_loss.backward()
        d_opt.step()
        y_g = torch.randint(10, (batch_size,), generator=gen)
        g_loss = F.softplus(-D(G(torch.randn(batch_size, G.latent_dim, generator=gen), y_g), y_g)).mean()
        g_opt.zero_grad()
        g_loss.backward()
        g_opt.step()
        history["d_loss"].append(d_loss.item())
        history["g_loss"].append(g_loss.item())
    return history
""",
    "evaluate": """
def evaluate(G, n_per_class, real_images, seed=0):
    labels = torch.arange(10).repeat_interleave(n_per_class)
    z = torch.randn(len(labels), G.latent_dim, generator=torch.Generator().manual_seed(seed))
    G.eval()
    with torch.no_grad():
        fakes = G(z, labels)
    clf = load_course_classifier()
    fid = frechet_distance_from_features(classifier_features(real_images, clf).double(),
                                         classifier_features(fakes, clf).double())
    return {"fid": fid, "per_class_accuracy": per_class_accuracy(fakes, labels, clf)[1].tolist()}
""",
}

# --- variant "embedding": linear stem in G, label embedding as one plane in D, minibatch std-dev fix,
# a replay buffer class, per-class loop and a hand-written Fréchet distance ---------------------------
EMBEDDING = {
    "one_hot": """
def one_hot(labels, n_classes=10):
    out = torch.zeros(len(labels), n_classes, device=labels.device)
    return out.scatter(1, labels.long().view(-1, 1), 1.0)
""",
    "ConditionalGenerator": """
class ConditionalGenerator(nn.Module):
    def __init__(self, latent_dim=100, n_classes=10, width=256):
        super().__init__()
        self.latent_dim, self.width = latent_dim, width
        self.embed = nn.Embedding(n_classes, 16)
        self.stem = nn.Linear(latent_dim + 16, 2 * width * 7 * 7, bias=False)
        self.bn0 = nn.BatchNorm1d(2 * width * 7 * 7)
        self.up1 = nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.up2 = nn.ConvTranspose2d(width, 1, 4, stride=2, padding=1)

    def forward(self, z, labels):
        h = F.relu(self.bn0(self.stem(torch.cat([z, self.embed(labels.long())], 1))))
        h = F.relu(self.bn1(self.up1(h.view(-1, 2 * self.width, 7, 7))))
        return torch.tanh(self.up2(h))
""",
    "ConditionalDiscriminator": """
class ConditionalDiscriminator(nn.Module):
    def __init__(self, n_classes=10, width=64, minibatch=False):
        super().__init__()
        self.minibatch = minibatch
        self.label_plane = nn.Embedding(n_classes, 28 * 28)
        self.c1 = nn.Conv2d(2, width, 4, 2, 1)
        self.c2 = nn.Conv2d(width, 2 * width, 4, 2, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(2 * width)
        if minibatch:  # minibatch discrimination with 4 kernels of 6 dimensions, its tensor named `kernels`
            self.kernels = nn.Parameter(0.05 * torch.randn(2 * width * 49, 4, 6))
        self.out = nn.Linear(2 * width * 49 + (4 if minibatch else 0), 1)

    def forward(self, x, labels):
        plane = self.label_plane(labels.long()).view(-1, 1, 28, 28)
        h = F.leaky_relu(self.c1(torch.cat([x, plane], 1)), 0.2)
        h = F.leaky_relu(self.bn2(self.c2(h)), 0.2).flatten(1)
        if self.minibatch:  # per kernel, the L1 distances between all pairs of samples at once
            rows = (h @ self.kernels.flatten(1)).view(len(h), 4, 6).transpose(0, 1)  # (B, N, C)
            closeness = torch.exp(-torch.cdist(rows, rows, p=1)).sum(dim=2) - 1.0  # (B, N), j = i left out
            h = torch.cat([h, closeness.T], 1)
        return self.out(h)[:, 0]
""",
    "train_cgan": """
FIX = "minibatch"


class Replay:
    def __init__(self, size, gen):
        self.x, self.y, self.size, self.gen = None, None, size, gen

    def mix(self, x, y):
        if self.x is None:
            self.x, self.y = x.clone(), y.clone()
            return x, y
        n = len(x) // 2
        k = torch.randint(len(self.y), (n,), generator=self.gen)
        out = torch.cat([self.x[k], x[n:]]), torch.cat([self.y[k], y[n:]])
        self.x, self.y = torch.cat([self.x, x])[-self.size:], torch.cat([self.y, y])[-self.size:]
        return out


def train_cgan(G, D, images, labels, steps, batch_size=64, fix=FIX, seed=0, device="cpu", lr=1e-3):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    G, D = G.to(device), D.to(device)
    opt_g = torch.optim.Adam(G.parameters(), lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr, betas=(0.5, 0.999))
    buffer = Replay(1000, gen) if fix == "replay" else None
    bce = nn.BCEWithLogitsLoss()
    out = {"d_loss": [], "g_loss": []}
    step = 0
    while step < steps:
        order = torch.randperm(len(labels), generator=gen)
        for start in range(0, len(order) - batch_size + 1, batch_size):
            if step == steps:
                break
            idx = order[start:start + batch_size]
            real, y_real = images[idx].to(device), labels[idx].to(device)
            y_fake = torch.randint(0, 10, (batch_size,), generator=gen).to(device)
            fake = G(torch.randn(batch_size, G.latent_dim, generator=gen).to(device), y_fake).detach()
            if buffer is not None:
                fake, y_fake = buffer.mix(fake, y_fake)
            opt_d.zero_grad()
            r, f = D(real, y_real), D(fake, y_fake)
            loss_d = bce(r, torch.ones_like(r)) + bce(f, torch.zeros_like(f))
            loss_d.backward()
            opt_d.step()
            opt_g.zero_grad()
            y_g = torch.randint(0, 10, (batch_size,), generator=gen).to(device)
            s = D(G(torch.randn(batch_size, G.latent_dim, generator=gen).to(device), y_g), y_g)
            loss_g = bce(s, torch.ones_like(s))
            loss_g.backward()
            opt_g.step()
            out["d_loss"].append(float(loss_d))
            out["g_loss"].append(float(loss_g))
            step += 1
    return out
""",
    "evaluate": """
def _gauss(features):
    f = features.double().numpy()
    return f.mean(0), np.cov(f, rowvar=False)


def _frechet(a, b):
    (m1, s1), (m2, s2) = a, b
    w, v = np.linalg.eigh(s1)
    root1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    inner = np.linalg.eigvalsh(root1 @ s2 @ root1)
    return float(((m1 - m2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(np.clip(inner, 0, None)).sum())


def evaluate(G, n_per_class, real_images, seed=0):
    clf = load_course_classifier()
    gen = torch.Generator().manual_seed(seed)
    G.eval()
    batches, accuracy = [], []
    with torch.no_grad():
        for digit in range(10):
            want = torch.full((n_per_class,), digit, dtype=torch.long)
            images = G(torch.randn(n_per_class, G.latent_dim, generator=gen), want)
            batches.append(images)
            accuracy.append((clf(images).argmax(1) == digit).float().mean().item())
        real_f = clf.features(real_images)
        fake_f = clf.features(torch.cat(batches))
    return {"fid": _frechet(_gauss(real_f), _gauss(fake_f)), "per_class_accuracy": accuracy}
""",
}

# --- variant "tutorial": the PyTorch DCGAN tutorial's idioms (BCEWithLogitsLoss against label tensors, two
# backward passes accumulated in D's step, netD.zero_grad(), the same fakes reused for G's step), one D call
# on real and fake images joined, a deque as replay store; F.one_hot in G, an embedding plane in D --------------
TUTORIAL = {
    "one_hot": """
def one_hot(labels, n_classes=10):
    return F.one_hot(labels, num_classes=n_classes).to(torch.float32)
""",
    "ConditionalGenerator": """
class ConditionalGenerator(nn.Module):
    def __init__(self, latent_dim=100, n_classes=10, width=256):
        super().__init__()
        self.latent_dim, self.n_classes = latent_dim, n_classes
        self.main = nn.Sequential(
            nn.ConvTranspose2d(latent_dim + n_classes, width, 7, 1, 0, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(True),
            nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(width // 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(width // 2, 1, 4, 2, 1, bias=False),
            nn.Tanh(),
        )

    def forward(self, input, labels):
        y = F.one_hot(labels, self.n_classes).float()
        return self.main(torch.cat([input, y], 1).unsqueeze(-1).unsqueeze(-1))
""",
    "ConditionalDiscriminator": """
class ConditionalDiscriminator(nn.Module):
    def __init__(self, n_classes=10, width=64, minibatch=False):
        super().__init__()
        self.embedding = nn.Embedding(n_classes, 28 * 28)
        self.main = nn.Sequential(
            nn.Conv2d(2, width, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(width, width * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(width * 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Flatten(),
        )
        self.minibatch = minibatch
        self.out = nn.Linear(width * 2 * 7 * 7 + (1 if minibatch else 0), 1)

    def forward(self, input, labels):
        h = self.main(torch.cat([input, self.embedding(labels).view(-1, 1, 28, 28)], 1))
        if self.minibatch:
            h = torch.cat([h, h.std(dim=0).mean().expand(h.size(0), 1)], 1)
        return self.out(h).view(-1)
""",
    "train_cgan": """
from collections import deque

FIX = "replay"


def train_cgan(G, D, images, labels, steps, batch_size=64, fix=FIX, seed=0, device="cpu", lr=1e-3):
    torch.manual_seed(seed)
    netG, netD = G.to(device), D.to(device)
    criterion = nn.BCEWithLogitsLoss()
    optimizerD = torch.optim.Adam(netD.parameters(), lr=lr, betas=(0.5, 0.999))
    optimizerG = torch.optim.Adam(netG.parameters(), lr=lr, betas=(0.5, 0.999))
    memory = deque(maxlen=10)
    history = {"d_loss": [], "g_loss": []}
    for _ in range(steps):
        # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
        netD.zero_grad()
        y_fake = torch.randint(0, 10, (batch_size,), device=device)  # the labels first, then the rest
        noise = torch.randn(batch_size, netG.latent_dim, device=device)
        idx = torch.randint(0, len(images), (batch_size,))
        real, y_real = images[idx].to(device), labels[idx].to(device)
        fake = netG(noise, y_fake)
        shown, y_shown = fake.detach(), y_fake
        if fix == "replay" and memory:
            old_x = torch.cat([m[0] for m in memory])
            old_y = torch.cat([m[1] for m in memory])
            pick = torch.randint(0, len(old_y), (batch_size // 2,))
            shown = torch.cat([old_x[pick], shown[batch_size // 2:]])
            y_shown = torch.cat([old_y[pick], y_fake[batch_size // 2:]])
        if fix == "replay":
            memory.append((fake.detach(), y_fake))
        output = netD(torch.cat([real, shown]), torch.cat([y_real, y_shown]))
        label = torch.cat([torch.full((batch_size,), 1.0, device=device),
                           torch.full((batch_size,), 0.0, device=device)])
        errD = criterion(output, label)
        errD.backward()
        optimizerD.step()
        # (2) Update G network: maximize log(D(G(z)))
        netG.zero_grad()
        label = torch.full((batch_size,), 1.0, device=device)
        output = netD(fake, y_fake)
        errG = criterion(output, label)
        errG.backward()
        optimizerG.step()
        history["d_loss"].append(errD.item())
        history["g_loss"].append(errG.item())
    return history
""",
    "evaluate": """
def evaluate(G, n_per_class, real_images, seed=0):
    device = next(G.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(10).repeat(n_per_class)  # 0..9, 0..9, ...
    z = torch.randn(len(labels), G.latent_dim, generator=gen)
    G.eval()
    with torch.no_grad():
        samples = G(z.to(device), labels.to(device)).cpu()
    G.train()
    clf = load_course_classifier()
    fid = frechet_distance_from_features(classifier_features(real_images, clf).double(),
                                         classifier_features(samples, clf).double())
    overall, per_class = per_class_accuracy(samples, labels, clf)
    return {"fid": fid, "per_class_accuracy": per_class}
""",
}

# --- variant "separate_backward": the real and fake terms backpropagated one after the other, the loss
# written with F.logsigmoid, the real batch drawn from a permutation, labels drawn in another order ----------
SEPARATE = dict(PLANES, train_cgan="""
FIX = "replay"


def train_cgan(G, D, images, labels, steps, batch_size=64, fix=FIX, seed=0, device="cpu", lr=1e-3):
    gen = torch.Generator().manual_seed(seed)
    G, D = G.to(device).train(), D.to(device).train()
    opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.999))
    store_x = store_y = None
    d_hist, g_hist = [], []
    for _ in range(steps):
        z = torch.randn(batch_size, G.latent_dim, generator=gen).to(device)
        y = torch.randint(10, (batch_size,), generator=gen).to(device)
        idx = torch.randperm(len(labels), generator=gen)[:batch_size]
        with torch.no_grad():
            fake = G(z, y)
        if fix == "replay" and store_x is not None:
            k = torch.randint(len(store_y), (batch_size // 2,), generator=gen)
            fake_in = torch.cat([fake[: batch_size // 2], store_x[k]])
            y_in = torch.cat([y[: batch_size // 2], store_y[k]])
        else:
            fake_in, y_in = fake, y
        if fix == "replay":
            store_x = fake if store_x is None else torch.cat([store_x, fake])[-512:]
            store_y = y if store_y is None else torch.cat([store_y, y])[-512:]
        opt_d.zero_grad()
        loss_real = -F.logsigmoid(D(images[idx].to(device), labels[idx].to(device))).mean()
        loss_fake = -F.logsigmoid(-D(fake_in, y_in)).mean()
        loss_real.backward()
        loss_fake.backward()
        opt_d.step()
        opt_g.zero_grad()
        y_g = torch.randint(10, (batch_size,), generator=gen).to(device)
        loss_g = -F.logsigmoid(D(G(torch.randn(batch_size, G.latent_dim, generator=gen).to(device), y_g), y_g)).mean()
        loss_g.backward()
        opt_g.step()
        d_hist.append((loss_real + loss_fake).item())
        g_hist.append(loss_g.item())
    return {"d_loss": d_hist, "g_loss": g_hist}
""")

# Discriminators whose logits depend on the batch without minibatch discrimination: with FIX = "minibatch"
# the training part must fail (the networks part builds D with minibatch=False, which they get right).
_MBD_FORWARD = """    def forward(self, h):
        rows = torch.einsum("na,abc->nbc", h, self.T)
        l1 = (rows[:, None] - rows[None, :]).abs().sum(dim=-1)
        return torch.cat([h, torch.exp(-l1).sum(dim=1) - 1.0], dim=1)
"""
FAKE_MINIBATCH = {
    "batch_mean_feature": PLANES["ConditionalDiscriminator"].replace(
        "        self.T = nn.Parameter(0.1 * torch.randn(in_features, num_kernels, kernel_dim))\n",
        "        self.mix = nn.Linear(in_features, num_kernels)\n").replace(
        _MBD_FORWARD, "    def forward(self, h):\n"
                      "        return torch.cat([h, self.mix(h.mean(0, keepdim=True)).expand(len(h), -1)], dim=1)\n"),
    "unused_T_and_batch_mean": PLANES["ConditionalDiscriminator"].replace(
        "        self.T = nn.Parameter(0.1 * torch.randn(in_features, num_kernels, kernel_dim))\n",
        "        self.T = nn.Parameter(0.1 * torch.randn(in_features, num_kernels, kernel_dim))\n"
        "        self.mix = nn.Linear(in_features, num_kernels)\n").replace(
        _MBD_FORWARD, "    def forward(self, h):\n        unused = 0.0 * self.T.sum()\n"
                      "        return torch.cat([h, self.mix(h.mean(0, keepdim=True)).expand(len(h), -1) + unused], "
                      "dim=1)\n"),
    # a learned T of the right shape, but each sample gets the batch mean of x T: no pairwise closeness
    "batch_mean_of_xT": PLANES["ConditionalDiscriminator"].replace(
        _MBD_FORWARD, "    def forward(self, h):\n"
                      "        m = torch.einsum('na,abc->nbc', h, self.T).sum(-1)\n"
                      "        return torch.cat([h, m.mean(0, keepdim=True).expand(len(h), -1)], dim=1)\n"),
}
assert all(v != PLANES["ConditionalDiscriminator"] for v in FAKE_MINIBATCH.values())

# --- part 3: the walk within a class, three ways --------------------------------------------------------------
PLANES["interpolate_within_class"] = """
def interpolate_within_class(G, digit, z_start, z_end, steps=8):
    z = torch.stack([lerp(z_start, z_end, float(t)) for t in torch.linspace(0, 1, steps)])
    dev = next(G.parameters()).device
    G.eval()
    with torch.no_grad():
        return G(z.to(dev), torch.full((steps,), digit, device=dev)).cpu()
"""
EMBEDDING["interpolate_within_class"] = """
@torch.inference_mode()
def interpolate_within_class(G, digit, z_start, z_end, steps=8):
    G.train(False)
    device = next(G.parameters()).device
    frames = []
    for k in range(steps):
        z = torch.lerp(z_start, z_end, k / (steps - 1)).unsqueeze(0).to(device)
        frames.append(G(z, torch.tensor([digit], device=device)).cpu())
    return torch.cat(frames)
"""
TUTORIAL["interpolate_within_class"] = """
def interpolate_within_class(G, digit, z_start, z_end, steps=8):
    G.eval()
    alphas = torch.from_numpy(np.linspace(0.0, 1.0, steps)).float().view(-1, 1)
    z = z_start.view(1, -1) + alphas * (z_end - z_start).view(1, -1)
    labels = torch.ones(steps, dtype=torch.long) * digit
    param = next(G.parameters())
    with torch.no_grad():
        images = G(z.to(param.device), labels.to(param.device))
    return images.detach().cpu()
"""
SEPARATE["interpolate_within_class"] = PLANES["interpolate_within_class"]

# The networks are assignment 4's: in the portfolio they are one ungraded cell (grade_id "networks") holding
# whatever the student pastes there. Each variant's three network answers become that cell.
NETWORK_PARTS = ("one_hot", "ConditionalGenerator", "ConditionalDiscriminator")


def as_portfolio(variant: dict) -> dict:
    return {"networks": "\n\n".join(variant[p] for p in NETWORK_PARTS),
            **{p: s for p, s in variant.items() if p not in NETWORK_PARTS}}


CORRECT = {name: as_portfolio(v) for name, v in
           {"planes": PLANES, "embedding": EMBEDDING, "tutorial": TUTORIAL, "separate_backward": SEPARATE}.items()}
# the course library's networks, which the release's networks cell suggests: allowed, they were graded in a4
LIBRARY_NETWORKS = "from gancourse.conditional import ConditionalDiscriminator, ConditionalGenerator, one_hot"

# --- the usual mistakes: each one must lose that part's points --------------------------------------------
P, E = PLANES, EMBEDDING

A4_MISTAKES = {  # assignment 4's usual mistakes in the networks: not graded again in the portfolio
    "one_hot": {
        "integer_dtype": "def one_hot(labels, n_classes=10):\n    return F.one_hot(labels.long(), n_classes)",
        "ignores_n_classes": "def one_hot(labels, n_classes=10):\n    return torch.eye(10)[labels.long()]",
        "off_by_one": ("def one_hot(labels, n_classes=10):\n"
                       "    return torch.eye(n_classes)[(labels.long() + 1) % n_classes]"),
        "made_on_the_cpu": "def one_hot(labels, n_classes=10):\n    return torch.eye(n_classes)[labels]",
    },
    "ConditionalGenerator": {
        "batchnorm_at_output": P["ConditionalGenerator"].replace(
            "nn.ConvTranspose2d(width, 1, 4, 2, 1), nn.Tanh())",
            "nn.ConvTranspose2d(width, 1, 4, 2, 1), nn.BatchNorm2d(1), nn.Tanh())"),
        "no_tanh": P["ConditionalGenerator"].replace("nn.ConvTranspose2d(width, 1, 4, 2, 1), nn.Tanh())",
                                                     "nn.ConvTranspose2d(width, 1, 4, 2, 1))"),
        "sigmoid_output": P["ConditionalGenerator"].replace("nn.Tanh())", "nn.Sigmoid())"),
        "ignores_label": P["ConditionalGenerator"].replace("one_hot(labels, self.n_classes)",
                                                           "torch.zeros(len(z), self.n_classes)"),
        "labels_of_the_batch_shuffled": P["ConditionalGenerator"].replace(
            "one_hot(labels, self.n_classes)", "one_hot(labels.roll(1), self.n_classes)"),
        "reads_labels_in_python": P["ConditionalGenerator"].replace(
            "code = torch.cat([z, one_hot(labels, self.n_classes)], dim=1)",
            "code = torch.cat([z, torch.stack([one_hot(torch.tensor([int(c)]), self.n_classes)[0] "
            "for c in labels])], dim=1)"),
        "no_transposed_convolution": """
class ConditionalGenerator(nn.Module):
    def __init__(self, latent_dim=100, n_classes=10, width=256):
        super().__init__()
        self.latent_dim, self.n_classes = latent_dim, n_classes
        self.net = nn.Sequential(nn.Linear(latent_dim + n_classes, width), nn.BatchNorm1d(width), nn.ReLU(),
                                 nn.Linear(width, 784), nn.Tanh())

    def forward(self, z, labels):
        return self.net(torch.cat([z, one_hot(labels, self.n_classes)], dim=1)).view(-1, 1, 28, 28)
""",
    },
    "ConditionalDiscriminator": {
        "batchnorm_on_input_layer": P["ConditionalDiscriminator"].replace(
            "nn.Conv2d(1 + n_classes, width, 4, 2, 1), nn.LeakyReLU(0.2)",
            "nn.Conv2d(1 + n_classes, width, 4, 2, 1), nn.BatchNorm2d(width), nn.LeakyReLU(0.2)"),
        "label_not_used": P["ConditionalDiscriminator"].replace(
            "one_hot(labels, self.n_classes)[:, :, None, None]", "torch.zeros(len(x), self.n_classes, 1, 1)"),
        "labels_of_the_batch_mixed": P["ConditionalDiscriminator"].replace(
            "one_hot(labels, self.n_classes)[:, :, None, None]",
            "one_hot(labels, self.n_classes).mean(0, keepdim=True).expand(len(x), -1)[:, :, None, None]"),
        "logits_shape_n_by_1": P["ConditionalDiscriminator"].replace("return self.logit(h).squeeze(1)",
                                                                     "return self.logit(h)"),
        "default_leaky_slope": P["ConditionalDiscriminator"].replace(
            "nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2)", "nn.BatchNorm2d(2 * width), nn.LeakyReLU()"),
        "max_pooling": P["ConditionalDiscriminator"].replace(
            "nn.Conv2d(width, 2 * width, 4, 2, 1, bias=False)",
            "nn.Conv2d(width, 2 * width, 3, 1, 1, bias=False), nn.MaxPool2d(2)"),
        "minibatch_layer_always_on": P["ConditionalDiscriminator"].replace(
            "if minibatch else None", "if True else None").replace("(8 if minibatch else 0)", "8"),
    },
}
ALWAYS_ON_MINIBATCH = A4_MISTAKES["ConditionalDiscriminator"].pop("minibatch_layer_always_on")

WRONG = {
    "train_cgan": {
        "swapped_real_fake_labels": P["train_cgan"].replace(
            "F.softplus(-D(images[idx], labels[idx])).mean() + F.softplus(D(x_show, y_show)).mean()",
            "F.softplus(D(images[idx], labels[idx])).mean() + F.softplus(-D(x_show, y_show)).mean()"),
        "missing_detach": P["train_cgan"].replace(
            "        with torch.no_grad():\n            fake = G(", "        if True:\n            fake = G("),
        # the store keeps only the very first fake, shown in place of one new fake: no replay to speak of
        "replay_of_one_fake": P["train_cgan"].replace(
            "            k = torch.randint(len(pool_y), (batch_size // 2,), generator=gen)\n", "").replace(
            "x_show = torch.cat([pool_x[k], fake[batch_size // 2:]])",
            "x_show = torch.cat([pool_x[:1], fake[1:]])").replace(
            "y_show = torch.cat([pool_y[k], y_fake[batch_size // 2:]])",
            "y_show = torch.cat([pool_y[:1], y_fake[1:]])").replace(
            "old_x, old_y = (old_x + [fake])[-20:], (old_y + [y_fake])[-20:]",
            "old_x, old_y = (old_x or [fake[:1]]), (old_y or [y_fake[:1]])"),
        "replay_never_returns_old": P["train_cgan"].replace(
            "x_show = torch.cat([pool_x[k], fake[batch_size // 2:]])",
            "x_show = torch.cat([fake[:batch_size // 2], fake[batch_size // 2:]])").replace(
            "y_show = torch.cat([pool_y[k], y_fake[batch_size // 2:]])", "y_show = y_fake"),
        "replay_old_images_with_new_labels": P["train_cgan"].replace(
            "y_show = torch.cat([pool_y[k], y_fake[batch_size // 2:]])", "y_show = y_fake"),
        "saturating_generator_loss": P["train_cgan"].replace(
            "g_loss = F.softplus(-D(G(", "g_loss = -F.softplus(D(G("),
        "generator_updated_first": P["train_cgan"].replace(
            "        d_loss = F.softplus", "        g_opt.step()\n        d_loss = F.softplus"),
        "same_real_batch_every_step": P["train_cgan"].replace(
            "idx = torch.randint(len(labels), (batch_size,), generator=gen)", "idx = torch.arange(batch_size)"),
        "sum_not_mean": P["train_cgan"].replace(
            "F.softplus(-D(images[idx], labels[idx])).mean() + F.softplus(D(x_show, y_show)).mean()",
            "F.softplus(-D(images[idx], labels[idx])).sum() + F.softplus(D(x_show, y_show)).sum()"),
        "ignores_lr": P["train_cgan"].replace("lr=lr, betas", "lr=1e-3, betas"),
        "default_betas": P["train_cgan"].replace("betas=(0.5, 0.999)", "betas=(0.9, 0.999)"),
        "optimizer_made_every_step": P["train_cgan"].replace(
            "        d_loss = F.softplus",
            "        d_opt = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))\n        d_loss = F.softplus"),
        "d_gradients_never_zeroed": P["train_cgan"].replace("        d_opt.zero_grad()\n", ""),
        "real_images_with_other_labels": P["train_cgan"].replace("D(images[idx], labels[idx])",
                                                                 "D(images[idx], labels[idx.flip(0)])"),
        "real_images_noised": P["train_cgan"].replace(
            "D(images[idx], labels[idx])", "D(images[idx] + 0.05 * torch.randn_like(images[idx]), labels[idx])"),
        "history_of_tensors": P["train_cgan"].replace('history["d_loss"].append(d_loss.item())',
                                                      'history["d_loss"].append(d_loss.detach())'),
        "generator_step_on_detached_fakes": P["train_cgan"].replace(
            "g_loss = F.softplus(-D(G(torch.randn(batch_size, G.latent_dim, generator=gen), y_g), y_g)).mean()",
            "g_fake = G(torch.randn(batch_size, G.latent_dim, generator=gen), y_g).detach()\n"
            "        g_loss = F.softplus(-D(g_fake, y_g)).mean()"),
    },
    "evaluate": {
        "random_labels": P["evaluate"].replace(
            "labels = torch.arange(10).repeat_interleave(n_per_class)",
            "labels = torch.randint(10, (10 * n_per_class,), generator=torch.Generator().manual_seed(seed))"),
        "accuracy_of_the_wrong_class": P["evaluate"].replace("per_class_accuracy(fakes, labels, clf)",
                                                              "per_class_accuracy(fakes, (labels + 1) % 10, clf)"),
        "fid_against_itself": P["evaluate"].replace("classifier_features(real_images, clf)",
                                                    "classifier_features(fakes[:len(fakes) // 2], clf)"),
        "training_mode": P["evaluate"].replace("    G.eval()\n", ""),
    },
    "interpolate_within_class": {
        "training_mode": P["interpolate_within_class"].replace("    G.eval()\n", ""),
        "slerp": "from gancourse.latent import slerp\n" + P["interpolate_within_class"].replace("lerp(", "slerp("),
        "end_left_out": P["interpolate_within_class"].replace("torch.linspace(0, 1, steps)",
                                                              "torch.linspace(0, 1, steps + 1)[:-1]"),
        "walked_backwards": P["interpolate_within_class"].replace("torch.linspace(0, 1, steps)",
                                                                  "torch.linspace(1, 0, steps)"),
        "random_labels": P["interpolate_within_class"].replace("torch.full((steps,), digit, device=dev)",
                                                               "torch.randint(10, (steps,), device=dev)"),
        "list_of_images": P["interpolate_within_class"].replace(
            "return G(z.to(dev), torch.full((steps,), digit, device=dev)).cpu()",
            "return list(G(z.to(dev), torch.full((steps,), digit, device=dev)).cpu())"),
    },
}


# --- borrowed from the course library: in the grading sandbox these are stubs, so they earn nothing -----

BORROWED = {
    "train_cgan": {
        "library_wrapper": ("from gancourse.conditional import train_conditional\nFIX = 'replay'\n\n"
                            "def train_cgan(G, D, images, labels, steps, batch_size=64, fix=FIX, seed=0, device='cpu',"
                            " lr=1e-3):\n    h = train_conditional('cgan', G, D, images, labels, steps=steps, "
                            "batch_size=batch_size, lr=lr, seed=seed, device=device, progress=False)\n"
                            "    return {'d_loss': h.d_loss, 'g_loss': h.g_loss}"),
        "library_step": P["train_cgan"].replace("FIX = \"replay\"", "from gancourse.conditional import cgan_step\n"
                                                "FIX = \"replay\"").replace(
            "    for _ in range(steps):\n",
            "    for _ in range(steps):\n        cgan_step(G, D, g_opt, d_opt, images[:8], labels[:8],"
            " lambda n: torch.randn(n, G.latent_dim), lambda n: torch.randint(10, (n,)))\n"),
    },
}


# --- part 3 written by students who had not seen the grader (an outside role-play): every correct one must
# pass, every wrong or gaming one must fail ---------------------------------------------------------------
INTERPOLATION_STYLES = {
    'loop_one_at_a_time': r'''
def interpolate_within_class(G, digit, z_start, z_end, steps=8):
    G.eval()
    device = next(G.parameters()).device
    images = []
    with torch.no_grad():
        for i in range(steps):
            t = i / (steps - 1)
            z = (1 - t) * z_start + t * z_end
            label = torch.tensor([digit], device=device)
            images.append(G(z.unsqueeze(0).to(device), label))
    return torch.cat(images).cpu()
''',
    'torch_lerp': r'''
def interpolate_within_class(G, digit, z_start, z_end, steps=8):
    G.eval()
    dev = next(G.parameters()).device
    w = torch.linspace(0, 1, steps, device=dev).unsqueeze(1)
    z = torch.lerp(z_start.to(dev).expand(steps, -1), z_end.to(dev).expand(steps, -1), w)
    y = torch.full((steps,), digit, dtype=torch.long, device=dev)
    with torch.no_grad():
        out = G(z, y)
    return out.detach().cpu()
''',
    'broadcast_linspace': r'''
def interpolate_within_class(G, digit, z_start, z_end, steps=8):
    G.eval()
    with torch.no_grad():
        t = torch.linspace(0.0, 1.0, steps)[:, None]
        zs = (1 - t) * z_start[None, :] + t * z_end[None, :]
        labels = torch.ones(steps, dtype=torch.long) * digit
        return G(zs, labels).cpu()
''',
    'numpy_linspace': r'''
def interpolate_within_class(G, digit, z_start, z_end, steps=8):
    G.eval()
    device = z_start.device
    imgs = []
    with torch.no_grad():
        for t in np.linspace(0, 1, steps):
            z = (1 - float(t)) * z_start + float(t) * z_end
            img = G(z.view(1, -1), torch.tensor([digit]).to(device))
            imgs.append(img[0])
    return torch.stack(imgs).to("cpu")
''',
    'listcomp_library_lerp': r'''
def interpolate_within_class(G, digit, z_start, z_end, steps=8):
    G.eval()
    zs = torch.stack([lerp(z_start, z_end, k / (steps - 1)) for k in range(steps)])
    with torch.no_grad():
        return G(zs, torch.tensor([digit] * steps)).cpu()
''',
    'inference_mode_train_false': r'''
def interpolate_within_class(G, digit, z_start, z_end, steps=8):
    G.train(False)
    device = next(G.parameters()).device
    ts = torch.linspace(0, 1, steps)
    with torch.inference_mode():
        z = lerp(z_start.to(device), z_end.to(device), ts.to(device))
        labels = torch.full((steps,), digit, device=device)
        images = G(z, labels)
    return images.to("cpu")
''',
    'restore_mode': r'''
def interpolate_within_class(G, digit, z_start, z_end, steps=8):
    was_training = G.training
    G.eval()
    try:
        device = next(G.parameters()).device
        alphas = torch.arange(steps, dtype=torch.float32) / (steps - 1)
        z = torch.stack([(1 - a) * z_start + a * z_end for a in alphas]).to(device)
        labels = torch.tensor(digit).repeat(steps).to(device)
        with torch.no_grad():
            x = G(z, labels)
    finally:
        G.train(was_training)
    return x.cpu()
''',
    'accepts_1xd': r'''
def interpolate_within_class(G, digit, z_start, z_end, steps=8):
    # works whether the ends are (d,) or (1, d)
    z0 = z_start.reshape(-1)
    z1 = z_end.reshape(-1)
    assert z0.numel() == G.latent_dim
    params = list(G.parameters())
    device = params[0].device if params else torch.device("cpu")
    t = torch.linspace(0, 1, steps, device=device).view(-1, 1)
    z = z0.to(device) + t * (z1.to(device) - z0.to(device))
    G.eval()
    with torch.no_grad():
        out = G(z, torch.full((steps,), int(digit), dtype=torch.long, device=device))
    return out.cpu().reshape(steps, 1, 28, 28)
''',
    'decorator_two_chunks': r'''
@torch.no_grad()
def interpolate_within_class(G, digit, z_start, z_end, steps=8):
    G.eval()
    t = torch.linspace(0, 1, steps).unsqueeze(-1)
    z = (1 - t) * z_start + t * z_end
    y = torch.full((steps,), digit, dtype=torch.long)
    half = steps // 2
    first = G(z[:half], y[:half])
    second = G(z[half:], y[half:])
    return torch.cat([first, second], dim=0).cpu()
''',
    'float64_math': r'''
def interpolate_within_class(G, digit, z_start, z_end, steps=8):
    G.eval()
    t = torch.linspace(0, 1, steps, dtype=torch.float64)[:, None]
    z = ((1 - t) * z_start.double() + t * z_end.double()).to(z_start.dtype)
    with torch.no_grad():
        images = G(z, torch.full((steps,), digit))
    return images.cpu()
''',
    'addcmul_style': r'''
def interpolate_within_class(G, digit, z_start, z_end, steps=8):
    G.eval()
    ts = [i / (steps - 1) for i in range(steps)]
    direction = z_end - z_start
    zs = torch.stack([z_start + t * direction for t in ts])
    labels = digit * torch.ones(steps, dtype=torch.int64)
    with torch.no_grad():
        imgs = G(zs, labels)
    return imgs.detach().to("cpu").contiguous()
''',
    'deepcopy_eval': r'''
import copy
def interpolate_within_class(G, digit, z_start, z_end, steps=8):
    # don't change the caller's model: work on an eval-mode copy
    G_eval = copy.deepcopy(G).eval()
    t = torch.linspace(0, 1, steps)[:, None]
    with torch.no_grad():
        return G_eval((1 - t) * z_start + t * z_end, torch.full((steps,), digit)).cpu()
''',
    'int32_labels': r'''
def interpolate_within_class(G, digit, z_start, z_end, steps=8):
    G.eval()
    t = torch.linspace(0, 1, steps)[:, None]
    with torch.no_grad():
        return G((1 - t) * z_start + t * z_end, torch.full((steps,), digit, dtype=torch.int)).cpu()
''',
    'single_image_loop_unsqueeze_label0d': r'''
def interpolate_within_class(G, digit, z_start, z_end, steps=8):
    G.eval()
    out = torch.empty(steps, 1, 28, 28)
    with torch.no_grad():
        for i, t in enumerate(torch.linspace(0, 1, steps)):
            z = torch.lerp(z_start, z_end, t)
            out[i] = G(z[None], torch.tensor([digit]))[0].cpu()
    return out
''',
    'no_no_grad_but_detach': r'''
def interpolate_within_class(G, digit, z_start, z_end, steps=8):
    G.eval()
    t = torch.linspace(0, 1, steps)[:, None]
    return G((1 - t) * z_start + t * z_end, torch.full((steps,), digit)).detach().cpu()
''',
    'float32_numpy_t_long_labels': r'''
def interpolate_within_class(G, digit, z_start, z_end, steps=8):
    G.eval()
    device = z_start.device
    t = torch.tensor(np.linspace(0.0, 1.0, num=steps), dtype=torch.float32, device=device).reshape(steps, 1)
    z = torch.addcmul(z_start.expand(steps, -1), t, (z_end - z_start).expand(steps, -1))
    labels = torch.LongTensor([digit] * steps).to(device)
    with torch.no_grad():
        x = G(z, labels)
    return x.cpu()
''',
}
INTERPOLATION_MISTAKES = {
    'no_endpoint': r'''
def interpolate_within_class(G, digit, z_start, z_end, steps=8):
    G.eval()
    t = torch.tensor(np.linspace(0, 1, steps, endpoint=False), dtype=torch.float32)[:, None]
    with torch.no_grad():
        return G((1 - t) * z_start + t * z_end, torch.full((steps,), digit)).cpu()
''',
    'flat_shape': r'''
def interpolate_within_class(G, digit, z_start, z_end, steps=8):
    G.eval()
    t = torch.linspace(0, 1, steps)[:, None]
    with torch.no_grad():
        return G((1 - t) * z_start + t * z_end, torch.full((steps,), digit)).cpu().view(steps, -1)
''',
    'pixel_space_lerp': r'''
def interpolate_within_class(G, digit, z_start, z_end, steps=8):
    G.eval()
    with torch.no_grad():
        a, b = G(torch.stack([z_start, z_end]), torch.full((2,), digit)).cpu()
    t = torch.linspace(0, 1, steps)[:, None, None, None]
    return (1 - t) * a + t * b
''',
    'warmup_call': r'''
def interpolate_within_class(G, digit, z_start, z_end, steps=8):
    G.eval()
    with torch.no_grad():
        G(torch.zeros(1, G.latent_dim), torch.tensor([digit]))   # warm-up / sanity check
        t = torch.linspace(0, 1, steps)[:, None]
        return G((1 - t) * z_start + t * z_end, torch.full((steps,), digit)).cpu()
''',
    'onehot_labels': r'''
def interpolate_within_class(G, digit, z_start, z_end, steps=8):
    G.eval()
    t = torch.linspace(0, 1, steps)[:, None]
    labels = F.one_hot(torch.full((steps,), digit), 10).float()
    with torch.no_grad():
        return G((1 - t) * z_start + t * z_end, labels).cpu()
''',
    'top_level_training_flag_only': r'''
def interpolate_within_class(G, digit, z_start, z_end, steps=8):
    G.training = False    # "switch off training" (but not for the submodules)
    t = torch.linspace(0, 1, steps)[:, None]
    with torch.no_grad():
        return G((1 - t) * z_start + t * z_end, torch.full((steps,), digit)).cpu()
''',
    'float64_z_from_numpy': r'''
def interpolate_within_class(G, digit, z_start, z_end, steps=8):
    G.eval()
    t = torch.from_numpy(np.linspace(0, 1, steps))[:, None]     # float64!
    with torch.no_grad():
        return G((1 - t) * z_start + t * z_end, torch.full((steps,), digit)).cpu()
''',
    'no_no_grad_returns_grad': r'''
def interpolate_within_class(G, digit, z_start, z_end, steps=8):
    G.eval()
    t = torch.linspace(0, 1, steps)[:, None]
    return G((1 - t) * z_start + t * z_end, torch.full((steps,), digit)).cpu()
''',
    'returns_numpy': r'''
def interpolate_within_class(G, digit, z_start, z_end, steps=8):
    G.eval()
    t = torch.linspace(0, 1, steps)[:, None]
    with torch.no_grad():
        return G((1 - t) * z_start + t * z_end, torch.full((steps,), digit)).cpu().numpy()
''',
    'cache_first_result': r'''
_CACHE = {}
def interpolate_within_class(G, digit, z_start, z_end, steps=8):
    if "imgs" in _CACHE:
        return _CACHE["imgs"][:steps]
    G.eval()
    t = torch.linspace(0, 1, steps)[:, None]
    with torch.no_grad():
        _CACHE["imgs"] = G((1 - t) * z_start + t * z_end, torch.full((steps,), digit)).cpu()
    return _CACHE["imgs"]
''',
    'monkeypatch_allclose_correct_call': r'''
import numpy
torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
torch.isclose = lambda a, b, *r, **k: torch.ones_like(torch.as_tensor(a), dtype=torch.bool)
numpy.allclose = lambda *a, **k: True
numpy.isclose = lambda a, b, *r, **k: numpy.ones(numpy.shape(a), dtype=bool)
numpy.array_equal = lambda *a, **k: True
numpy.testing.assert_allclose = lambda *a, **k: None
def interpolate_within_class(G, digit, z_start, z_end, steps=8):
    G.eval()
    t = torch.linspace(0, 1, steps)[:, None]
    with torch.no_grad():
        G((1 - t) * z_start + t * z_end, torch.full((steps,), digit))
    return torch.zeros(steps, 1, 28, 28)
''',
    'extra_random_calls_after': r'''
def interpolate_within_class(G, digit, z_start, z_end, steps=8):
    G.eval()
    t = torch.linspace(0, 1, steps)[:, None]
    with torch.no_grad():
        imgs = G((1 - t) * z_start + t * z_end, torch.full((steps,), digit)).cpu()
        G(torch.randn(16, G.latent_dim), torch.randint(0, 10, (16,)))   # probe G a bit
    return imgs
''',
    'zero_G_parameters': r'''
def interpolate_within_class(G, digit, z_start, z_end, steps=8):
    G.eval()
    with torch.no_grad():
        for p in G.parameters():
            p.zero_()
        t = torch.linspace(0, 1, steps)[:, None]
        G((1 - t) * z_start + t * z_end, torch.full((steps,), digit))
    return torch.zeros(steps, 1, 28, 28)
''',
    'calls_list_filter': r'''
class _Filtered(list):
    def append(self, item):
        if isinstance(item, dict) and "training" in item:
            item = dict(item, training=torch.tensor(False))
        super().append(item)
def interpolate_within_class(G, digit, z_start, z_end, steps=8):
    G.calls = _Filtered(G.calls)
    t = torch.linspace(0, 1, steps)[:, None]
    with torch.no_grad():
        return G((1 - t) * z_start + t * z_end, torch.full((steps,), digit)).cpu()   # train mode
''',
}
