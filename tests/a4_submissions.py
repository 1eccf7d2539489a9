"""Student answers for assignment 4 (conditional GANs), as test fixtures: correct ones written
differently, the usual mistakes, and answers borrowed from the course library. Each answer is the
source a student would type into one answer cell; the notebook's setup cell provides torch, nn, F,
math and the library module ``conditional``."""

# --- correct answers, written in different ways -------------------------------------------------

# Variant "planes" (the reference solution): comparison one-hot, MLP generator on [z, one-hot],
# convolutional discriminator that reads ten constant label planes behind the image.
PLANES = {
    "one_hot": """
def one_hot(labels, n_classes=10):
    classes = torch.arange(n_classes, device=labels.device)
    return (labels[:, None] == classes).float()
""",
    "ConditionalGenerator": """
class ConditionalGenerator(nn.Module):
    def __init__(self, latent_dim=100, n_classes=10, width=256):
        super().__init__()
        self.latent_dim, self.n_classes = latent_dim, n_classes
        self.net = nn.Sequential(
            nn.Linear(latent_dim + n_classes, width), nn.LeakyReLU(0.2),
            nn.Linear(width, 2 * width), nn.BatchNorm1d(2 * width), nn.LeakyReLU(0.2),
            nn.Linear(2 * width, 28 * 28), nn.Tanh(),
        )

    def forward(self, z, labels):
        zy = torch.cat([z, one_hot(labels, self.n_classes)], dim=1)
        return self.net(zy).view(-1, 1, 28, 28)
""",
    "ConditionalDiscriminator": """
class ConditionalDiscriminator(nn.Module):
    def __init__(self, n_classes=10, width=64):
        super().__init__()
        self.n_classes = n_classes
        self.net = nn.Sequential(
            nn.Conv2d(1 + n_classes, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(2 * width * 7 * 7, 1),
        )

    def forward(self, images, labels):
        n, _, rows, cols = images.shape
        planes = one_hot(labels, self.n_classes).view(n, self.n_classes, 1, 1).expand(-1, -1, rows, cols)
        return self.net(torch.cat([images, planes], dim=1)).squeeze(1)
""",
    "acgan_auxiliary_loss": """
def acgan_auxiliary_loss(class_logits, labels):
    log_p = F.log_softmax(class_logits, dim=1)
    return -log_p.gather(1, labels[:, None]).mean()
""",
}

# Variant "embedding": scatter one-hot, DCGAN-style generator whose label enters through an
# embedding (with the DCGAN init, so effects are small at the start), and a discriminator that
# learns one extra 28x28 plane per class with nn.Embedding.
EMBEDDING = {
    "one_hot": """
def one_hot(labels, n_classes=10):
    rows = torch.zeros(labels.shape[0], n_classes, device=labels.device)
    rows.scatter_(1, labels.unsqueeze(1), 1.0)
    return rows
""",
    "ConditionalGenerator": """
def dcgan_init(m):
    if isinstance(m, (nn.Linear, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)

class ConditionalGenerator(nn.Module):
    def __init__(self, latent_dim=100, n_classes=10, width=256):
        super().__init__()
        self.latent_dim, self.n_classes, self.width = latent_dim, n_classes, width
        self.label_code = nn.Embedding(n_classes, n_classes)
        self.project = nn.Sequential(nn.Linear(latent_dim + n_classes, 2 * width * 7 * 7, bias=False),
                                     nn.BatchNorm1d(2 * width * 7 * 7), nn.ReLU())
        self.up = nn.Sequential(
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
            nn.ConvTranspose2d(width, 1, 4, 2, 1), nn.Tanh(),
        )
        self.apply(dcgan_init)

    def forward(self, z, labels):
        h = self.project(torch.cat((z, self.label_code(labels)), 1))
        return self.up(h.reshape(len(z), 2 * self.width, 7, 7))
""",
    "ConditionalDiscriminator": """
class ConditionalDiscriminator(nn.Module):
    def __init__(self, n_classes=10, width=64):
        super().__init__()
        self.n_classes = n_classes
        self.label_plane = nn.Embedding(n_classes, 28 * 28)
        self.body = nn.Sequential(
            nn.Conv2d(2, width, 5, 2, 2), nn.LeakyReLU(0.2), nn.Dropout(0.3),
            nn.Conv2d(width, 2 * width, 5, 2, 2), nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(2 * width * 49, 1),
        )

    def forward(self, images, labels):
        plane = self.label_plane(labels).reshape(-1, 1, 28, 28)
        logits = self.body(torch.cat([images, plane], 1))
        return logits[:, 0]
""",
    "acgan_auxiliary_loss": """
def acgan_auxiliary_loss(class_logits, labels):
    return F.cross_entropy(class_logits, labels)
""",
}

# Variant "projection": eye-indexing one-hot, a generator that adds a linear map of z and one of
# the label (the same as one layer on their concatenation), a projection discriminator (the label
# embedding is dotted with D's features), and cross-entropy written with logsumexp.
PROJECTION = {
    "one_hot": """
def one_hot(labels, n_classes=10):
    return torch.eye(n_classes, dtype=torch.float32, device=labels.device)[labels]
""",
    "ConditionalGenerator": """
class ConditionalGenerator(nn.Module):
    def __init__(self, latent_dim=100, n_classes=10, width=256):
        super().__init__()
        self.latent_dim, self.n_classes = latent_dim, n_classes
        self.from_z = nn.Linear(latent_dim, width)
        self.from_label = nn.Linear(n_classes, width, bias=False)
        self.rest = nn.Sequential(nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 784))

    def forward(self, z, labels):
        y = F.one_hot(labels, self.n_classes).to(z.dtype)
        h = self.from_z(z) + self.from_label(y)
        return torch.tanh(self.rest(h)).reshape(z.shape[0], 1, 28, 28)
""",
    "ConditionalDiscriminator": """
class ConditionalDiscriminator(nn.Module):
    def __init__(self, n_classes=10, width=64):
        super().__init__()
        self.n_classes = n_classes
        self.features = nn.Sequential(nn.Flatten(), nn.Linear(784, 4 * width), nn.LeakyReLU(0.2),
                                      nn.Linear(4 * width, width), nn.LeakyReLU(0.2))
        self.real_or_fake = nn.Linear(width, 1)
        self.class_embedding = nn.Embedding(n_classes, width)

    def forward(self, images, labels):
        h = self.features(images)
        projection = torch.einsum("nd,nd->n", self.class_embedding(labels), h)
        return self.real_or_fake(h).view(-1) + projection
""",
    "acgan_auxiliary_loss": """
def acgan_auxiliary_loss(class_logits, labels):
    picked = class_logits[torch.arange(len(labels)), labels]
    return torch.mean(torch.logsumexp(class_logits, dim=1) - picked)
""",
}

# Variant "tutorial": the idioms of the PyTorch-GAN cGAN example (an MLP generator built from a block
# helper with BatchNorm1d(out, 0.8), label embeddings joined to z and to the flattened image, img.size(0)),
# F.one_hot with num_classes=, and nn.CrossEntropyLoss.
TUTORIAL = {
    "one_hot": """
def one_hot(labels, n_classes=10):
    return torch.nn.functional.one_hot(labels, num_classes=n_classes).to(torch.float32)
""",
    "ConditionalGenerator": """
img_shape = (1, 28, 28)


class ConditionalGenerator(nn.Module):
    def __init__(self, latent_dim=100, n_classes=10, width=256):
        super().__init__()
        self.latent_dim, self.n_classes = latent_dim, n_classes
        self.label_emb = nn.Embedding(n_classes, n_classes)

        def block(in_feat, out_feat, normalize=True):
            layers = [nn.Linear(in_feat, out_feat)]
            if normalize:
                layers.append(nn.BatchNorm1d(out_feat, 0.8))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            return layers

        self.model = nn.Sequential(
            *block(latent_dim + n_classes, width // 2, normalize=False),
            *block(width // 2, width),
            nn.Linear(width, math.prod(img_shape)),
            nn.Tanh(),
        )

    def forward(self, noise, labels):
        gen_input = torch.cat((self.label_emb(labels), noise), -1)
        img = self.model(gen_input)
        return img.view(img.size(0), *img_shape)
""",
    "ConditionalDiscriminator": """
class ConditionalDiscriminator(nn.Module):
    def __init__(self, n_classes=10, width=64):
        super().__init__()
        self.n_classes = n_classes
        self.label_embedding = nn.Embedding(n_classes, n_classes)
        self.model = nn.Sequential(
            nn.Linear(n_classes + 784, 4 * width),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(4 * width, 4 * width),
            nn.Dropout(0.4),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(4 * width, 1),
        )

    def forward(self, img, labels):
        d_in = torch.cat((img.view(img.size(0), -1), self.label_embedding(labels)), -1)
        return self.model(d_in).view(-1)
""",
    "acgan_auxiliary_loss": """
auxiliary_loss = nn.CrossEntropyLoss()


def acgan_auxiliary_loss(class_logits, labels):
    return auxiliary_loss(class_logits, labels)
""",
}

# Variant "cumulative_batchnorm": the tutorial's networks with BatchNorm's running statistics a cumulative average
# (momentum=None), which read the batch count as a Python number and could not be traced (an outside student's pass)
CUMULATIVE_BATCHNORM = dict(TUTORIAL, ConditionalGenerator=TUTORIAL["ConditionalGenerator"].replace(
    "nn.BatchNorm1d(out_feat, 0.8)", "nn.BatchNorm1d(out_feat, 0.8, momentum=None)"))
assert CUMULATIVE_BATCHNORM["ConditionalGenerator"] != TUTORIAL["ConditionalGenerator"]

# Networks that update their own tensors in place under torch.no_grad() as they run (an other-style student's pass:
# each lost its part's points to a trace replayed with gradients): a projection D with spectral norm (the
# parametrization, and the older torch.nn.utils.spectral_norm), and a generator whose label embedding has max_norm.
SPECTRAL_PROJECTION = dict(PROJECTION, ConditionalDiscriminator="""
from torch.nn.utils.parametrizations import spectral_norm


class ConditionalDiscriminator(nn.Module):
    # a projection discriminator (Miyato and Koyama) with spectral normalisation

    def __init__(self, n_classes=10, width=64):
        super().__init__()
        self.n_classes = n_classes
        self.features = nn.Sequential(
            spectral_norm(nn.Conv2d(1, width, 4, 2, 1)), nn.LeakyReLU(0.2),
            spectral_norm(nn.Conv2d(width, 2 * width, 4, 2, 1)), nn.LeakyReLU(0.2),
        )
        self.linear = spectral_norm(nn.Linear(2 * width, 1))
        self.embed = spectral_norm(nn.Embedding(n_classes, 2 * width))

    def forward(self, images, labels):
        h = self.features(images).sum(dim=(2, 3))        # global sum pooling
        return self.linear(h).squeeze(1) + (self.embed(labels) * h).sum(1)
""")
SPECTRAL_NORM_OLD_API = dict(PROJECTION, ConditionalDiscriminator=SPECTRAL_PROJECTION[
    "ConditionalDiscriminator"].replace("from torch.nn.utils.parametrizations import spectral_norm",
                                        "from torch.nn.utils import spectral_norm  # the older, hook-based version"))
assert "hook-based" in SPECTRAL_NORM_OLD_API["ConditionalDiscriminator"]
MAX_NORM_EMBEDDING = dict(PROJECTION, ConditionalGenerator="""
class ConditionalGenerator(nn.Module):
    def __init__(self, latent_dim=100, n_classes=10, width=256):
        super().__init__()
        self.latent_dim, self.n_classes = latent_dim, n_classes
        # a learned embedding of the label instead of a one-hot row
        self.label_emb = nn.Embedding(n_classes, n_classes, max_norm=1.0)  # keep label codes on the unit ball
        self.model = nn.Sequential(
            nn.Linear(latent_dim + n_classes, width),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(width, 2 * width),
            nn.BatchNorm1d(2 * width),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(2 * width, 28 * 28),
            nn.Tanh(),
        )

    def forward(self, z, labels):
        gen_input = torch.cat((self.label_emb(labels), z), -1)
        img = self.model(gen_input)
        return img.view(img.size(0), 1, 28, 28)
""")

CORRECT = {"planes": PLANES, "embedding": EMBEDDING, "projection": PROJECTION, "tutorial": TUTORIAL,
           "cumulative_batchnorm": CUMULATIVE_BATCHNORM, "spectral_projection": SPECTRAL_PROJECTION,
           "spectral_norm_old_api": SPECTRAL_NORM_OLD_API, "max_norm_embedding": MAX_NORM_EMBEDDING}

# --- the usual mistakes: each one must lose that part's points ----------------------------------
G_SOLUTION = PLANES["ConditionalGenerator"]
D_SOLUTION = PLANES["ConditionalDiscriminator"]

WRONG = {
    "one_hot": {
        "int64_rows": "def one_hot(labels, n_classes=10):\n    return F.one_hot(labels, n_classes)",
        "aliases_torch_one_hot": "one_hot = F.one_hot",
        "classes_counted_from_data": "def one_hot(labels, n_classes=10):\n    return F.one_hot(labels).float()",
        "always_ten_classes": "def one_hot(labels, n_classes=10):\n    return F.one_hot(labels, 10).float()",
        "float64_rows": ("def one_hot(labels, n_classes=10):\n"
                         "    return torch.eye(n_classes, dtype=torch.float64, device=labels.device)[labels]"),
        "made_on_the_cpu": "def one_hot(labels, n_classes=10):\n    return torch.eye(n_classes)[labels]",
        "transposed": "def one_hot(labels, n_classes=10):\n    return F.one_hot(labels, n_classes).float().T",
        "changes_its_input": ("def one_hot(labels, n_classes=10):\n    rows = torch.zeros(len(labels), n_classes)\n"
                              "    rows[torch.arange(len(labels)), labels] = 1.0\n    labels.zero_()\n"
                              "    return rows.to(labels.device)"),
    },
    "ConditionalGenerator": {
        "ignores_label": G_SOLUTION.replace("zy = torch.cat([z, one_hot(labels, self.n_classes)], dim=1)",
                                            "zy = torch.cat([z, torch.zeros(len(z), self.n_classes)], dim=1)"),
        "first_label_for_all": G_SOLUTION.replace(
            "one_hot(labels, self.n_classes)]", "one_hot(labels[:1], self.n_classes).expand(len(z), -1)]"),
        "labels_of_other_samples": G_SOLUTION.replace("one_hot(labels, self.n_classes)",
                                                      "one_hot(labels.flip(0), self.n_classes)"),
        "joined_along_batch": G_SOLUTION.replace("self.n_classes)], dim=1)", "self.n_classes)], dim=0)"),
        "always_ten_classes": G_SOLUTION.replace("one_hot(labels, self.n_classes)", "one_hot(labels, 10)"),
        "no_tanh": G_SOLUTION.replace("nn.Linear(2 * width, 28 * 28), nn.Tanh(),", "nn.Linear(2 * width, 28 * 28),"),
        "sigmoid_output": G_SOLUTION.replace("nn.Tanh(),", "nn.Sigmoid(),"),
        "batchnorm_at_output": G_SOLUTION.replace("nn.Linear(2 * width, 28 * 28), nn.Tanh(),",
                                                  "nn.Linear(2 * width, 28 * 28), nn.BatchNorm1d(28 * 28), nn.Tanh(),"),
        "width_ignored": G_SOLUTION.replace("super().__init__()", "super().__init__()\n        width = 64"),
        "label_embedding_detached": """
class ConditionalGenerator(nn.Module):
    def __init__(self, latent_dim=100, n_classes=10, width=256):
        super().__init__()
        self.latent_dim, self.n_classes = latent_dim, n_classes
        self.embed = nn.Embedding(n_classes, 16)
        self.net = nn.Sequential(nn.Linear(latent_dim + 16, width), nn.ReLU(), nn.Linear(width, 784), nn.Tanh())

    def forward(self, z, labels):
        return self.net(torch.cat([z, self.embed(labels).detach()], 1)).view(-1, 1, 28, 28)
""",
        "noise_inside_forward": G_SOLUTION.replace("        return self.net(zy)",
                                                   "        zy = zy + 0.1 * torch.randn_like(zy)\n"
                                                   "        return self.net(zy)"),
        "labels_read_in_python": G_SOLUTION.replace(
            "zy = torch.cat([z, one_hot(labels, self.n_classes)], dim=1)",
            "rows = torch.zeros(len(z), self.n_classes)\n"
            "        for i, c in enumerate(labels.tolist()):\n            rows[i, c] = 1.0\n"
            "        zy = torch.cat([z, rows], dim=1)"),
    },
    "ConditionalDiscriminator": {
        "ignores_label": D_SOLUTION.replace("torch.cat([images, planes], dim=1)",
                                            "torch.cat([images, torch.zeros_like(planes)], dim=1)"),
        "first_label_for_all": D_SOLUTION.replace(
            "one_hot(labels, self.n_classes).view(n, self.n_classes, 1, 1).expand(-1, -1, rows, cols)",
            "one_hot(labels[:1], self.n_classes).view(1, self.n_classes, 1, 1).expand(n, -1, rows, cols)"),
        "labels_of_other_samples": D_SOLUTION.replace("one_hot(labels, self.n_classes)",
                                                      "one_hot(labels.flip(0), self.n_classes)"),
        "labels_joined_along_batch": """
class ConditionalDiscriminator(nn.Module):
    def __init__(self, n_classes=10, width=64):
        super().__init__()
        self.n_classes = n_classes
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, width), nn.LeakyReLU(0.2), nn.Linear(width, 1))

    def forward(self, images, labels):
        label_rows = F.pad(one_hot(labels, self.n_classes), (0, 784 - self.n_classes)).view(-1, 1, 28, 28)
        both = torch.cat([images, label_rows], dim=0)  # the label rows become extra "images"
        return self.net(both).squeeze(1)[: len(images)]
""",
        "labels_joined_along_batch_all_logits": """
class ConditionalDiscriminator(nn.Module):
    def __init__(self, n_classes=10, width=64):
        super().__init__()
        self.n_classes = n_classes
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, width), nn.LeakyReLU(0.2), nn.Linear(width, 1))

    def forward(self, images, labels):
        label_rows = F.pad(one_hot(labels, self.n_classes), (0, 784 - self.n_classes)).view(-1, 1, 28, 28)
        return self.net(torch.cat([images, label_rows], dim=0)).squeeze(1)
""",
        "always_ten_classes": D_SOLUTION.replace("one_hot(labels, self.n_classes).view(n, self.n_classes, 1, 1)",
                                                 "one_hot(labels, 10).view(n, 10, 1, 1)"),
        "logit_column_not_squeezed": D_SOLUTION.replace("dim=1)).squeeze(1)", "dim=1))"),
        "squeeze_all": D_SOLUTION.replace("dim=1)).squeeze(1)", "dim=1)).squeeze()"),
        "sigmoid_output": D_SOLUTION.replace("nn.Flatten(), nn.Linear(2 * width * 7 * 7, 1),",
                                             "nn.Flatten(), nn.Linear(2 * width * 7 * 7, 1), nn.Sigmoid(),"),
        "input_batchnorm": D_SOLUTION.replace("nn.Conv2d(1 + n_classes, width, 4, stride=2, padding=1),",
                                              "nn.BatchNorm2d(1 + n_classes), "
                                              "nn.Conv2d(1 + n_classes, width, 4, stride=2, padding=1),"),
        "batchnorm_after_first_layer": D_SOLUTION.replace(
            "nn.Conv2d(1 + n_classes, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),",
            "nn.Conv2d(1 + n_classes, width, 4, stride=2, padding=1), nn.BatchNorm2d(width), nn.LeakyReLU(0.2),"),
        "width_ignored": D_SOLUTION.replace("super().__init__()", "super().__init__()\n        width = 16"),
        "label_path_detached": PROJECTION["ConditionalDiscriminator"].replace(
            "self.real_or_fake(h).view(-1) + projection", "self.real_or_fake(h).view(-1) + projection.detach()"),
    },
    "acgan_auxiliary_loss": {
        "sum_not_mean": ("def acgan_auxiliary_loss(class_logits, labels):\n"
                         "    return F.cross_entropy(class_logits, labels, reduction='sum')"),
        "double_softmax": ("def acgan_auxiliary_loss(class_logits, labels):\n"
                           "    return F.cross_entropy(F.softmax(class_logits, dim=1), labels)"),
        "nll_without_log_softmax": ("def acgan_auxiliary_loss(class_logits, labels):\n"
                                    "    return F.nll_loss(class_logits, labels)"),
        "naive_log_of_softmax": ("def acgan_auxiliary_loss(class_logits, labels):\n"
                                 "    p = torch.softmax(class_logits, dim=1)\n"
                                 "    return -torch.log(p[torch.arange(len(labels)), labels]).mean()"),
        "binary_cross_entropy_per_class": (
            "def acgan_auxiliary_loss(class_logits, labels):\n"
            "    target = F.one_hot(labels, class_logits.shape[1]).float()\n"
            "    return F.binary_cross_entropy_with_logits(class_logits, target)"),
        "returns_float": ("def acgan_auxiliary_loss(class_logits, labels):\n"
                          "    return F.cross_entropy(class_logits, labels).item()"),
        "per_sample_losses": ("def acgan_auxiliary_loss(class_logits, labels):\n"
                              "    return F.cross_entropy(class_logits, labels, reduction='none')"),
        "detached": ("def acgan_auxiliary_loss(class_logits, labels):\n"
                     "    return F.cross_entropy(class_logits.detach(), labels)"),
    },
}


# --- borrowed from the course library: in the grading sandbox these are stubs, so they earn nothing -----

BORROWED = {
    "one_hot": {
        "library_object": "one_hot = conditional.one_hot",
        "library_wrapper": "def one_hot(labels, n_classes=10):\n    return conditional.one_hot(labels, n_classes)",
    },
    "ConditionalGenerator": {
        "library_object": "ConditionalGenerator = conditional.ConditionalGenerator",
        "library_subclass": ("class ConditionalGenerator(conditional.ConditionalGenerator):\n"
                             "    def __init__(self, latent_dim=100, n_classes=10, width=256):\n"
                             "        super().__init__(latent_dim, n_classes, width)"),
        "library_inside": """
class ConditionalGenerator(nn.Module):
    def __init__(self, latent_dim=100, n_classes=10, width=256):
        super().__init__()
        self.latent_dim = latent_dim
        self.inner = conditional.ConditionalGenerator(latent_dim, n_classes, width)

    def forward(self, z, labels):
        return self.inner(z, labels)
""",
    },
    "ConditionalDiscriminator": {
        "library_object": "ConditionalDiscriminator = conditional.ConditionalDiscriminator",
        "library_subclass": ("class ConditionalDiscriminator(conditional.ConditionalDiscriminator):\n"
                             "    def __init__(self, n_classes=10, width=64):\n"
                             "        super().__init__(n_classes, width)"),
    },
    "acgan_auxiliary_loss": {
        "library_object": "acgan_auxiliary_loss = conditional.acgan_auxiliary_loss",
        "library_wrapper": ("def acgan_auxiliary_loss(class_logits, labels):\n"
                            "    return conditional.acgan_auxiliary_loss(class_logits, labels)"),
    },
}


# Chapter 3's networks from the library, with the label joined on: the library's own conditional networks are
# these thin subclasses, so in the grading sandbox chapter 3's networks are stubs too, and these earn nothing.
CHAPTER3_BODY = {
    "ConditionalGenerator": """
from gancourse.nets import DCGANGenerator as _DG

class ConditionalGenerator(_DG):
    def __init__(self, latent_dim=100, n_classes=10, width=256):
        super().__init__(latent_dim + n_classes, width=width)
        self.latent_dim, self.n_classes = latent_dim, n_classes

    def forward(self, z, labels):
        return super().forward(torch.cat([z, F.one_hot(labels.long(), self.n_classes).to(z.dtype)], dim=1))
""",
    "ConditionalDiscriminator": """
from gancourse.nets import DCGANDiscriminator as _DD

class ConditionalDiscriminator(_DD):
    def __init__(self, n_classes=10, width=64):
        super().__init__(in_channels=1 + n_classes, width=width)
        self.n_classes = n_classes

    def forward(self, images, labels):
        planes = F.one_hot(labels.long(), self.n_classes).to(images.dtype)[:, :, None, None]
        return super().forward(torch.cat([images, planes.expand(-1, -1, *images.shape[-2:])], dim=1))
""",
}
