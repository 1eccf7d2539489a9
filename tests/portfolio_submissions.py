"""Student answers for the portfolio (conditional DCGAN), as test fixtures: correct answers written in
genuinely different ways, the usual mistakes, and library borrowings. Each answer is the source a
student would type into one answer cell (grade_id = the function or class name)."""

# --- variant "planes": one-hot planes in D, replay buffer as tensors, library metrics ------------------
PLANES = {
    "one_hot": """
def one_hot(labels, n_classes=10):
    return F.one_hot(labels.long(), n_classes).float()
""",
    "ConditionalGenerator": """
class ConditionalGenerator(nn.Module):
    def __init__(self, latent_dim=32, n_classes=10, width=32):
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
class MinibatchFeatures(nn.Module):
    def __init__(self, in_features, kernels=8, kernel_dim=8):
        super().__init__()
        self.kernels, self.kernel_dim = kernels, kernel_dim
        self.T = nn.Parameter(0.1 * torch.randn(in_features, kernels, kernel_dim))

    def forward(self, h):
        rows = torch.einsum("na,abc->nbc", h, self.T)
        l1 = (rows[:, None] - rows[None, :]).abs().sum(dim=-1)
        return torch.cat([h, torch.exp(-l1).sum(dim=1) - 1.0], dim=1)


class ConditionalDiscriminator(nn.Module):
    def __init__(self, n_classes=10, width=32, minibatch=False):
        super().__init__()
        self.n_classes = n_classes
        self.body = nn.Sequential(
            nn.Conv2d(1 + n_classes, width, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2),
            nn.Flatten())
        self.minibatch = MinibatchFeatures(2 * width * 49) if minibatch else None
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
    out = torch.zeros(len(labels), n_classes)
    return out.scatter(1, labels.long().view(-1, 1), 1.0)
""",
    "ConditionalGenerator": """
class ConditionalGenerator(nn.Module):
    def __init__(self, latent_dim=32, n_classes=10, width=32):
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
    def __init__(self, n_classes=10, width=32, minibatch=False):
        super().__init__()
        self.minibatch = minibatch
        self.label_plane = nn.Embedding(n_classes, 28 * 28)
        self.c1 = nn.Conv2d(2, width, 4, 2, 1)
        self.c2 = nn.Conv2d(width, 2 * width, 4, 2, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(2 * width)
        self.out = nn.Linear(2 * width * 49 + (1 if minibatch else 0), 1)

    def forward(self, x, labels):
        plane = self.label_plane(labels.long()).view(-1, 1, 28, 28)
        h = F.leaky_relu(self.c1(torch.cat([x, plane], 1)), 0.2)
        h = F.leaky_relu(self.bn2(self.c2(h)), 0.2).flatten(1)
        if self.minibatch:  # minibatch standard deviation, a close cousin of minibatch discrimination
            spread = torch.sqrt(h.var(dim=0, unbiased=False) + 1e-8).mean()
            h = torch.cat([h, spread.expand(len(h), 1)], 1)
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

CORRECT = {"planes": PLANES, "embedding": EMBEDDING}

# --- the usual mistakes: each one must lose that part's points --------------------------------------------
P, E = PLANES, EMBEDDING

WRONG = {
    "one_hot": {
        "integer_dtype": "def one_hot(labels, n_classes=10):\n    return F.one_hot(labels.long(), n_classes)",
        "ignores_n_classes": "def one_hot(labels, n_classes=10):\n    return torch.eye(10)[labels.long()]",
        "off_by_one": ("def one_hot(labels, n_classes=10):\n"
                       "    return torch.eye(n_classes)[(labels.long() + 1) % n_classes]"),
        "library_object": "from gancourse.conditional import one_hot",
        "library_wrapper": ("import gancourse.conditional\n\ndef one_hot(labels, n_classes=10):\n"
                            "    return gancourse.conditional.one_hot(labels, n_classes)"),
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
        "library_subclass": ("from gancourse.conditional import ConditionalGenerator as _Lib\n\n"
                             "class ConditionalGenerator(_Lib):\n"
                             "    def __init__(self, latent_dim=32, n_classes=10, width=32):\n"
                             "        super().__init__(latent_dim, n_classes)"),
        "library_wrapper": ("import gancourse.conditional\n\nclass ConditionalGenerator(nn.Module):\n"
                            "    def __init__(self, latent_dim=32, n_classes=10, width=32):\n"
                            "        super().__init__()\n        self.latent_dim = latent_dim\n"
                            "        self.inner = gancourse.conditional.ConditionalGenerator(latent_dim, n_classes)\n\n"
                            "    def forward(self, z, labels):\n        return self.inner(z, labels)"),
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
        "library_object": "from gancourse.conditional import ConditionalDiscriminator",
    },
    "train_cgan": {
        "swapped_real_fake_labels": P["train_cgan"].replace(
            "F.softplus(-D(images[idx], labels[idx])).mean() + F.softplus(D(x_show, y_show)).mean()",
            "F.softplus(D(images[idx], labels[idx])).mean() + F.softplus(-D(x_show, y_show)).mean()"),
        "missing_detach": P["train_cgan"].replace(
            "        with torch.no_grad():\n            fake = G(", "        if True:\n            fake = G("),
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
    "evaluate": {
        "random_labels": P["evaluate"].replace(
            "labels = torch.arange(10).repeat_interleave(n_per_class)",
            "labels = torch.randint(10, (10 * n_per_class,), generator=torch.Generator().manual_seed(seed))"),
        "accuracy_of_the_wrong_class": P["evaluate"].replace("per_class_accuracy(fakes, labels, clf)",
                                                              "per_class_accuracy(fakes, (labels + 1) % 10, clf)"),
        "fid_against_itself": P["evaluate"].replace("classifier_features(real_images, clf)",
                                                    "classifier_features(fakes[:len(fakes) // 2], clf)"),
    },
}
