"""Student answers for assignment 1 (two networks), as test fixtures: correct ones written differently, the
usual mistakes, and borrowed library objects. Each answer is the source of one answer cell; the notebook's
setup cell provides math, os, torch, F and the course modules data, nets, viz, and the earlier answer
cells define the losses that alternating_step's defaults name."""

# --- correct answers, written in different ways -------------------------------------------------

# softplus on logits, and the lecture's algorithm: fakes under no_grad, fresh z for G's step.
SOFTPLUS = {
    "discriminator_loss": """
def discriminator_loss(real_logits, fake_logits):
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
""",
    "saturating_generator_loss": """
def saturating_generator_loss(fake_logits):
    return -F.softplus(fake_logits).mean()
""",
    "non_saturating_generator_loss": """
def non_saturating_generator_loss(fake_logits):
    return F.softplus(-fake_logits).mean()
""",
    "alternating_step": """
def alternating_step(generator, discriminator, g_opt, d_opt, next_real, sample_z, k=1,
                     d_loss_fn=discriminator_loss, g_loss_fn=non_saturating_generator_loss):
    for _ in range(k):
        # Phase I: update D, maximize log D(x) + log(1 - D(G(z)))
        real = next_real()
        with torch.no_grad():
            fake = generator(sample_z(len(real)))
        real_logits, fake_logits = discriminator(real), discriminator(fake)
        d_loss = d_loss_fn(real_logits, fake_logits)
        d_opt.zero_grad()
        d_loss.backward()
        d_opt.step()
    # Phase II: update G on fresh latent vectors
    g_logits = discriminator(generator(sample_z(len(real))))
    g_loss = g_loss_fn(g_logits)
    g_opt.zero_grad()
    g_loss.backward()
    g_opt.step()
    return {"d_loss": d_loss.item(), "g_loss": g_loss.item(),
            "d_real": torch.sigmoid(real_logits).mean().item(), "d_fake": torch.sigmoid(fake_logits).mean().item(),
            "d_fake_g": torch.sigmoid(g_logits).mean().item()}
""",
}

# logsigmoid; one D pass over real and fake together, .detach(), gradients zeroed after each step with
# set_to_none=False, and the library's round_record helper (not a graded part) for the record.
LOGSIGMOID = {
    "discriminator_loss": """
def discriminator_loss(real_logits, fake_logits):
    # log(1 - sigmoid(t)) = logsigmoid(-t)
    real_term = -F.logsigmoid(real_logits).mean()
    fake_term = -F.logsigmoid(-fake_logits).mean()
    return real_term + fake_term
""",
    "saturating_generator_loss": """
def saturating_generator_loss(fake_logits):
    return torch.mean(F.logsigmoid(-fake_logits))
""",
    "non_saturating_generator_loss": """
def non_saturating_generator_loss(fake_logits):
    return -torch.mean(F.logsigmoid(fake_logits))
""",
    "alternating_step": """
from gancourse.train import round_record

def alternating_step(generator, discriminator, g_opt, d_opt, next_real, sample_z, k=1,
                     d_loss_fn=discriminator_loss, g_loss_fn=non_saturating_generator_loss):
    d_opt.zero_grad(set_to_none=False)
    g_opt.zero_grad(set_to_none=False)
    for step in range(k):
        real = next_real()
        n = real.shape[0]
        fake = generator(sample_z(n)).detach()
        logits = discriminator(torch.cat([real, fake], dim=0))
        real_logits, fake_logits = logits[:n], logits[n:]
        d_loss = d_loss_fn(real_logits, fake_logits)
        d_loss.backward()
        d_opt.step()
        d_opt.zero_grad(set_to_none=False)
    z = sample_z(n)
    g_logits = discriminator(generator(z))
    g_loss = g_loss_fn(g_logits)
    g_loss.backward()
    g_opt.step()
    g_opt.zero_grad(set_to_none=False)
    d_opt.zero_grad(set_to_none=False)
    return round_record(d_loss, g_loss, real_logits, fake_logits, g_logits)
""",
}

# BCEWithLogitsLoss with label tensors, and the PyTorch DCGAN tutorial's step: G's update reuses the fakes of
# D's last update (fake.detach() for D, fake for G), net.zero_grad(), D_x and D_G_z1/D_G_z2 as it logs them.
BCE_MODULE = {
    "discriminator_loss": """
bce = torch.nn.BCEWithLogitsLoss()

def discriminator_loss(real_logits, fake_logits):
    return bce(real_logits, torch.ones_like(real_logits)) + bce(fake_logits, torch.zeros_like(fake_logits))
""",
    "saturating_generator_loss": """
def saturating_generator_loss(fake_logits):
    return -F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
""",
    "non_saturating_generator_loss": """
def non_saturating_generator_loss(fake_logits):
    targets = torch.ones(fake_logits.shape)
    return F.binary_cross_entropy_with_logits(fake_logits, targets, reduction="mean")
""",
    "alternating_step": """
def alternating_step(generator, discriminator, g_opt, d_opt, next_real, sample_z, k=1,
                     d_loss_fn=discriminator_loss, g_loss_fn=non_saturating_generator_loss):
    netG, netD, optimizerG, optimizerD = generator, discriminator, g_opt, d_opt
    for _ in range(k):
        ############################
        # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
        ###########################
        netD.zero_grad()
        real_cpu = next_real()
        b_size = real_cpu.size(0)
        output_real = netD(real_cpu).view(-1)
        noise = sample_z(b_size)
        fake = netG(noise)
        output_fake = netD(fake.detach()).view(-1)
        errD = d_loss_fn(output_real, output_fake)
        errD.backward()
        D_x = output_real.sigmoid().mean().item()
        D_G_z1 = output_fake.sigmoid().mean().item()
        optimizerD.step()
    ############################
    # (2) Update G network: maximize log(D(G(z)))
    ###########################
    netG.zero_grad()
    output = netD(fake).view(-1)
    errG = g_loss_fn(output)
    errG.backward()
    D_G_z2 = output.sigmoid().mean().item()
    optimizerG.step()
    return dict(d_loss=errD.item(), g_loss=errG.item(), d_real=D_x, d_fake=D_G_z1, d_fake_g=D_G_z2)
""",
}

# logaddexp; every batch drawn up front (G's latent vectors before D's updates), module.zero_grad(),
# D frozen with requires_grad_(False) in Phase II, float() instead of .item().
LOGADDEXP = {
    "discriminator_loss": """
def discriminator_loss(real_logits, fake_logits):
    zero = torch.zeros(())
    return torch.logaddexp(zero, -real_logits).mean() + torch.logaddexp(zero, fake_logits).mean()
""",
    "saturating_generator_loss": """
def saturating_generator_loss(fake_logits):
    return -torch.logaddexp(torch.zeros_like(fake_logits), fake_logits).sum() / fake_logits.numel()
""",
    "non_saturating_generator_loss": """
def non_saturating_generator_loss(fake_logits):
    return torch.logaddexp(torch.tensor(0.0), -fake_logits).mean()
""",
    "alternating_step": """
def alternating_step(generator, discriminator, g_opt, d_opt, next_real, sample_z, k=1,
                     d_loss_fn=discriminator_loss, g_loss_fn=non_saturating_generator_loss):
    reals = [next_real() for _ in range(k)]
    z_g = sample_z(reals[0].shape[0])
    zs = [sample_z(r.shape[0]) for r in reals]
    record = {}
    for real, z in zip(reals, zs):
        discriminator.zero_grad()
        fake = generator(z).detach()
        r, f = discriminator(real), discriminator(fake)
        loss = d_loss_fn(r, f)
        loss.backward()
        d_opt.step()
        record.update(d_loss=float(loss), d_real=float(torch.sigmoid(r).mean()), d_fake=float(torch.sigmoid(f).mean()))
    discriminator.requires_grad_(False)
    generator.zero_grad()
    g = discriminator(generator(z_g))
    loss = g_loss_fn(g)
    loss.backward()
    g_opt.step()
    discriminator.requires_grad_(True)
    record.update(g_loss=float(loss), d_fake_g=float(torch.sigmoid(g).mean()))
    return record
""",
}

CORRECT = {"softplus": SOFTPLUS, "logsigmoid": LOGSIGMOID, "bce_module": BCE_MODULE, "logaddexp": LOGADDEXP}

# --- the usual mistakes: each one must lose that part's points ----------------------------------
STEP = SOFTPLUS["alternating_step"]
RECORD = """{"d_loss": d_loss.item(), "g_loss": g_loss.item(),
            "d_real": torch.sigmoid(real_logits).mean().item(), "d_fake": torch.sigmoid(fake_logits).mean().item(),
            "d_fake_g": torch.sigmoid(g_logits).mean().item()}"""
assert RECORD in STEP


def _step(old: str, new: str) -> str:
    assert old in STEP, old
    return STEP.replace(old, new)


WRONG = {
    "discriminator_loss": {
        "swapped_labels": "def discriminator_loss(r, f):\n    return F.softplus(r).mean() + F.softplus(-f).mean()",
        "sum_not_mean": "def discriminator_loss(r, f):\n    return F.softplus(-r).sum() + F.softplus(f).sum()",
        "naive_log_sigmoid": ("def discriminator_loss(r, f):\n"
                              "    real_term = -torch.log(torch.sigmoid(r)).mean()\n"
                              "    return real_term - torch.log(1 - torch.sigmoid(f)).mean()"),
        "mean_over_concatenation": ("def discriminator_loss(r, f):\n    logits = torch.cat([r, f])\n"
                                    "    labels = torch.cat([torch.ones_like(r), torch.zeros_like(f)])\n"
                                    "    return F.binary_cross_entropy_with_logits(logits, labels)"),
        "sigmoid_then_bce": ("def discriminator_loss(r, f):\n    bce = torch.nn.BCELoss()\n"
                             "    real_p, fake_p = torch.sigmoid(r), torch.sigmoid(f)\n"
                             "    return bce(real_p, torch.ones_like(real_p)) + bce(fake_p, torch.zeros_like(fake_p))"),
        "real_term_only": "def discriminator_loss(r, f):\n    return F.softplus(-r).mean()",
        "detached_result": ("def discriminator_loss(r, f):\n"
                            "    return (F.softplus(-r).mean() + F.softplus(f).mean()).detach()"),
        "python_float": ("def discriminator_loss(r, f):\n"
                         "    return float(F.softplus(-r).mean() + F.softplus(f).mean())"),
        "per_sample_losses": "def discriminator_loss(r, f):\n    return F.softplus(-r) + F.softplus(f).mean()",
    },
    "saturating_generator_loss": {
        "gave_non_saturating": "def saturating_generator_loss(f):\n    return F.softplus(-f).mean()",
        "wrong_sign": "def saturating_generator_loss(f):\n    return F.softplus(f).mean()",
        "naive_log": "def saturating_generator_loss(f):\n    return torch.log(1 - torch.sigmoid(f)).mean()",
        "sigmoid_then_bce": ("def saturating_generator_loss(f):\n"
                             "    return -F.binary_cross_entropy(torch.sigmoid(f), torch.zeros_like(f))"),
        "sum_not_mean": "def saturating_generator_loss(f):\n    return -F.softplus(f).sum()",
    },
    "non_saturating_generator_loss": {
        "gave_saturating": "def non_saturating_generator_loss(f):\n    return -F.softplus(f).mean()",
        "naive_log": "def non_saturating_generator_loss(f):\n    return -torch.log(torch.sigmoid(f)).mean()",
        "sum_not_mean": "def non_saturating_generator_loss(f):\n    return F.softplus(-f).sum()",
        "numpy_value": ("def non_saturating_generator_loss(f):\n"
                        "    return torch.tensor(F.softplus(-f).mean().item())"),
    },
    "alternating_step": {
        "missing_detach": _step("        with torch.no_grad():\n            fake =", "        fake ="),
        "missing_detach_no_zero_grad_g": _step("        with torch.no_grad():\n            fake =", "        fake =")
        .replace("    g_opt.zero_grad()\n", ""),
        "swapped_real_fake": _step("d_loss_fn(real_logits, fake_logits)", "d_loss_fn(fake_logits, real_logits)"),
        "ignores_k": _step("for _ in range(k):", "for _ in range(1):"),
        "no_zero_grad": _step("        d_opt.zero_grad()\n", "").replace("    g_opt.zero_grad()\n", ""),
        "no_zero_grad_d": _step("        d_opt.zero_grad()\n", ""),
        "no_zero_grad_g": _step("    g_opt.zero_grad()\n", ""),
        "zero_grad_after_backward": _step("        d_opt.zero_grad()\n        d_loss.backward()\n",
                                          "        d_loss.backward()\n        d_opt.zero_grad()\n"),
        "generator_first": """
def alternating_step(generator, discriminator, g_opt, d_opt, next_real, sample_z, k=1,
                     d_loss_fn=discriminator_loss, g_loss_fn=non_saturating_generator_loss):
    g_logits = discriminator(generator(sample_z(8)))
    g_loss = g_loss_fn(g_logits)
    g_opt.zero_grad(); g_loss.backward(); g_opt.step()
    for _ in range(k):
        real = next_real()
        fake = generator(sample_z(len(real))).detach()
        real_logits, fake_logits = discriminator(real), discriminator(fake)
        d_loss = d_loss_fn(real_logits, fake_logits)
        d_opt.zero_grad(); d_loss.backward(); d_opt.step()
    return {"d_loss": d_loss.item(), "g_loss": g_loss.item(), "d_real": torch.sigmoid(real_logits).mean().item(),
            "d_fake": torch.sigmoid(fake_logits).mean().item(), "d_fake_g": torch.sigmoid(g_logits).mean().item()}
""",
        "updates_d_in_phase_two": _step("    g_opt.step()\n", "    g_opt.step()\n    d_opt.step()\n"),
        "detached_generator_phase": _step("discriminator(generator(sample_z(len(real))))",
                                          "discriminator(generator(sample_z(len(real))).detach())"),
        "reuses_real_batch": _step("    for _ in range(k):\n        # Phase I: update D, maximize log D(x) + "
                                   "log(1 - D(G(z)))\n        real = next_real()\n",
                                   "    real = next_real()\n    for _ in range(k):\n"),
        "reuses_fakes_for_every_d_update": _step("    for _ in range(k):\n",
                                                 "    fake = None\n    for _ in range(k):\n")
        .replace("        with torch.no_grad():\n            fake = generator(sample_z(len(real)))\n",
                 "        if fake is None:\n            with torch.no_grad():\n"
                 "                fake = generator(sample_z(len(real)))\n"),
        "swapped_optimizers": _step("        d_opt.step()\n", "        g_opt.step()\n").replace(
            "    g_opt.step()\n    return", "    d_opt.step()\n    return"),
        "own_optimizer": _step("    g_opt.step()\n", "    torch.optim.SGD(generator.parameters(), lr=0.01).step()\n"),
        "ignores_g_loss_fn": _step("g_loss = g_loss_fn(g_logits)", "g_loss = non_saturating_generator_loss(g_logits)"),
        "ignores_d_loss_fn": _step(
            "d_loss = d_loss_fn(real_logits, fake_logits)",
            "d_loss = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits)) + "
            "F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))"),
        "returns_tensors": _step(RECORD, '{"d_loss": d_loss, "g_loss": g_loss, "d_real": torch.sigmoid(real_logits)'
                                         '.mean(), "d_fake": torch.sigmoid(fake_logits).mean(), '
                                         '"d_fake_g": torch.sigmoid(g_logits).mean()}'),
        "returns_losses_only": _step(RECORD, '{"d_loss": d_loss.item(), "g_loss": g_loss.item()}'),
        "records_mean_logits": _step("torch.sigmoid(real_logits).mean().item()", "real_logits.mean().item()"),
        "records_d_real_after_update": _step(
            '"d_real": torch.sigmoid(real_logits).mean().item()',
            '"d_real": torch.sigmoid(discriminator(real)).mean().item()'),
        "wrong_default_k": _step("sample_z, k=1,", "sample_z, k=2,"),
    },
}

# --- answers that borrow the course library's own versions: no points in the sandbox ------------
BORROWED = {
    "discriminator_loss": {"library_object": "from gancourse.losses import discriminator_loss\n"},
    "saturating_generator_loss": {"library_object": "from gancourse import losses\n\n"
                                                    "saturating_generator_loss = losses.saturating_generator_loss\n"},
    "non_saturating_generator_loss": {
        "library_wrapper": "import gancourse.losses\n\ndef non_saturating_generator_loss(fake_logits):\n"
                           "    return gancourse.losses.non_saturating_generator_loss(fake_logits)\n"},
    "alternating_step": {
        "library_wrapper": "from gancourse.train import alternating_step as _step\n\n"
                           "def alternating_step(*args, **kwargs):\n    return _step(*args, **kwargs)\n"},
}

# --- answers built on library functions of the same concept (found by an outside attacker): no points either ----
KIN = {
    # the library's loss against any targets, given ones and zeros: the plain loss (a private helper)
    "discriminator_loss": """
import torch
from gancourse.losses import _bce_against_targets

def discriminator_loss(real_logits, fake_logits):
    return _bce_against_targets(real_logits, fake_logits, torch.ones_like(real_logits), torch.zeros_like(fake_logits))
""",
    # the uniform-label-noise loss with no noise: the plain loss
    "discriminator_loss_no_noise": """
from gancourse.losses import uniform_label_noise_discriminator_loss

def discriminator_loss(real_logits, fake_logits):
    return uniform_label_noise_discriminator_loss(real_logits, fake_logits, scale=0.0)
""",
    # the shared-fakes round k times, G's update thrown away in all but the last: the alternating step
    "alternating_step": """
from gancourse.train import shared_fakes_step


class _NoStep:
    def zero_grad(self, set_to_none=True):
        pass

    def step(self):
        pass


def alternating_step(generator, discriminator, g_opt, d_opt, next_real, sample_z, k=1,
                     d_loss_fn=discriminator_loss, g_loss_fn=non_saturating_generator_loss):
    for _ in range(k - 1):
        shared_fakes_step(generator, discriminator, _NoStep(), d_opt, next_real, sample_z, d_loss_fn, g_loss_fn)
        for p in generator.parameters():
            p.grad = None
    return shared_fakes_step(generator, discriminator, g_opt, d_opt, next_real, sample_z, d_loss_fn, g_loss_fn)
""",
}

# --- answers that reach the grader's references of earlier parts (an outside tester's eighth pass) -------------
# The grader keeps a reference for each part, for the probes that judge a later part on its own (the step runs with
# the grader's losses). Part 1 is left undone; parts 2 and 3 are the minimax loss with one side pushed out to a
# sure logit, computed with the grader's part 1: read from the sandbox's library file once it is back there, by a
# fresh import, or through the name the grader defines for a part the notebook left undefined. None is the
# student's work: parts 2 and 3 get nothing, the honest step keeps its 5 points.
BORROWS_REFERENCES = {
    "discriminator_loss": "# not done\n",
    "saturating_generator_loss": """
import importlib, sys


def _graders_discriminator_loss():
    # 1: the sandbox's library file, read and run afresh
    for folder in sys.path:
        try:
            source = open(folder + "/gancourse/losses.py").read()
        except OSError:
            continue
        space = {"__name__": "gancourse._borrowed", "__package__": "gancourse"}
        try:
            exec(compile(source, "losses.py", "exec"), space)
            return space["discriminator_loss"]
        except Exception:
            pass
    # 2: a fresh import of the library module
    for key in [k for k in sys.modules if k == "gancourse" or k.startswith("gancourse.")]:
        del sys.modules[key]
    importlib.invalidate_caches()
    return importlib.import_module("gancourse.losses").discriminator_loss


def saturating_generator_loss(fake_logits):
    return -_graders_discriminator_loss()(torch.full_like(fake_logits, 80.0), fake_logits)
""",
    # 3: the name the grader defines once part 1's test has found it undefined
    "non_saturating_generator_loss": """
def non_saturating_generator_loss(fake_logits):
    return discriminator_loss(fake_logits, torch.full_like(fake_logits, -80.0))
""",
}

# An outside tester's ninth pass: the loss parts' test cells moved below the step's, and a hook that imports the library
# afresh before every cell, keeping whatever graded name is no stub at that moment. The step's test cell was lent the
# losses before their own tests ran: 7/12 with no answer written. References are now lent only for parts already tested.
GRABS_BEFORE_EVERY_CELL = """
import importlib as _il, sys as _sys
_STOLEN = {}


def _grab(*_args, **_kw):
    saved = {k: v for k, v in _sys.modules.items() if k == "gancourse" or k.startswith("gancourse.")}
    for k in saved:
        del _sys.modules[k]
    _il.invalidate_caches()
    try:
        losses = _il.import_module("gancourse.losses")
        for name in ("discriminator_loss", "saturating_generator_loss", "non_saturating_generator_loss"):
            if name not in getattr(losses, "_GRADED_STUBS", ()):
                _STOLEN.setdefault(name, getattr(losses, name))
    finally:
        for k in [k for k in _sys.modules if k == "gancourse" or k.startswith("gancourse.")]:
            del _sys.modules[k]
        _sys.modules.update(saved)


get_ipython().events.register("pre_run_cell", _grab)


def discriminator_loss(real_logits, fake_logits):
    return _STOLEN["discriminator_loss"](real_logits, fake_logits)
"""
FORWARDS_TO_STOLEN = {
    "discriminator_loss": GRABS_BEFORE_EVERY_CELL,
    "saturating_generator_loss": ("def saturating_generator_loss(f):\n"
                                  "    return _STOLEN['saturating_generator_loss'](f)\n"),
    "non_saturating_generator_loss": ("def non_saturating_generator_loss(f):\n"
                                      "    return _STOLEN['non_saturating_generator_loss'](f)\n"),
}


def move_loss_tests_below_the_step(nb):
    """The three loss parts' test cells taken out and put back right after the step's test cell."""
    def grade_id(cell):
        return cell.metadata.get("nbgrader", {}).get("grade_id")

    moved = [c for c in nb.cells if grade_id(c) in ("test_discriminator_loss", "test_saturating_generator_loss",
                                                     "test_non_saturating_generator_loss")]
    assert len(moved) == 3
    rest = [c for c in nb.cells if c not in moved]
    at = next(i for i, c in enumerate(rest) if grade_id(c) == "test_alternating_step") + 1
    nb.cells = rest[:at] + moved + rest[at:]

