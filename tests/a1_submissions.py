"""Student answers for assignment 1, as test fixtures: correct ones written differently, the usual
mistakes, and cheats. Each answer is the source a student would type into one answer cell."""

# --- correct answers, written in different ways -------------------------------------------------
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
}

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
}

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
}

STEP_NO_GRAD = """
def alternating_step(generator, discriminator, g_opt, d_opt, next_real, sample_z, k=1,
                     d_loss_fn=discriminator_loss, g_loss_fn=non_saturating_generator_loss):
    for _ in range(k):
        real = next_real()
        with torch.no_grad():
            fake = generator(sample_z(len(real)))
        d_loss = d_loss_fn(discriminator(real), discriminator(fake))
        d_opt.zero_grad()
        d_loss.backward()
        d_opt.step()
    g_loss = g_loss_fn(discriminator(generator(sample_z(len(real)))))
    g_opt.zero_grad()
    g_loss.backward()
    g_opt.step()
    return {"d_loss": d_loss.item(), "g_loss": g_loss.item()}
"""

# Detached fakes, one D pass over real and fake together, and zero_grad after each step.
STEP_CONCAT = """
def alternating_step(generator, discriminator, g_opt, d_opt, next_real, sample_z, k=1,
                     d_loss_fn=discriminator_loss, g_loss_fn=non_saturating_generator_loss):
    d_opt.zero_grad(set_to_none=False)
    g_opt.zero_grad(set_to_none=False)
    losses = {}
    for step in range(k):
        real = next_real()
        n = real.shape[0]
        fake = generator(sample_z(n)).detach()
        logits = discriminator(torch.cat([real, fake], dim=0))
        loss = d_loss_fn(logits[:n], logits[n:])
        loss.backward()
        d_opt.step()
        d_opt.zero_grad(set_to_none=False)
        losses["d_loss"] = float(loss)
    g_opt.zero_grad(set_to_none=False)
    z = sample_z(n)
    loss = g_loss_fn(discriminator(generator(z)))
    loss.backward()
    g_opt.step()
    d_opt.zero_grad(set_to_none=False)
    losses["g_loss"] = float(loss)
    return losses
"""

CORRECT = {"softplus": {**SOFTPLUS, "alternating_step": STEP_NO_GRAD},
           "logsigmoid": {**LOGSIGMOID, "alternating_step": STEP_CONCAT},
           "bce_module": {**BCE_MODULE, "alternating_step": STEP_NO_GRAD}}

# --- the usual mistakes: each one must lose that part's points ----------------------------------
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
        "real_term_only": "def discriminator_loss(r, f):\n    return F.softplus(-r).mean()",
        "detached_result": ("def discriminator_loss(r, f):\n"
                            "    return (F.softplus(-r).mean() + F.softplus(f).mean()).detach()"),
        "numpy_float": ("def discriminator_loss(r, f):\n"
                        "    return float(F.softplus(-r).mean() + F.softplus(f).mean())"),
        "library_object": "discriminator_loss = losses.discriminator_loss",
        "library_wrapper": "def discriminator_loss(r, f):\n    return losses.discriminator_loss(r, f)",
        "library_alias_taken_early": ("from gancourse.losses import discriminator_loss as _lib\n"
                                      "def discriminator_loss(r, f):\n    return _lib(r + 0.0, f + 0.0)"),
    },
    "saturating_generator_loss": {
        "gave_non_saturating": "def saturating_generator_loss(f):\n    return F.softplus(-f).mean()",
        "wrong_sign": "def saturating_generator_loss(f):\n    return F.softplus(f).mean()",
        "naive_log": "def saturating_generator_loss(f):\n    return torch.log(1 - torch.sigmoid(f)).mean()",
        "sum_not_mean": "def saturating_generator_loss(f):\n    return -F.softplus(f).sum()",
    },
    "non_saturating_generator_loss": {
        "gave_saturating": "def non_saturating_generator_loss(f):\n    return -F.softplus(f).mean()",
        "naive_log": "def non_saturating_generator_loss(f):\n    return -torch.log(torch.sigmoid(f)).mean()",
        "sum_not_mean": "def non_saturating_generator_loss(f):\n    return F.softplus(-f).sum()",
        "library_object": "non_saturating_generator_loss = losses.non_saturating_generator_loss",
    },
    "alternating_step": {
        "missing_detach": STEP_NO_GRAD.replace("        with torch.no_grad():\n            fake =", "        fake ="),
        "swapped_real_fake": STEP_NO_GRAD.replace("d_loss_fn(discriminator(real), discriminator(fake))",
                                                  "d_loss_fn(discriminator(fake), discriminator(real))"),
        "ignores_k": STEP_NO_GRAD.replace("for _ in range(k):", "for _ in range(1):"),
        "no_zero_grad": STEP_NO_GRAD.replace("        d_opt.zero_grad()\n", "").replace("    g_opt.zero_grad()\n", ""),
        "generator_first": """
def alternating_step(generator, discriminator, g_opt, d_opt, next_real, sample_z, k=1,
                     d_loss_fn=discriminator_loss, g_loss_fn=non_saturating_generator_loss):
    g_loss = g_loss_fn(discriminator(generator(sample_z(8))))
    g_opt.zero_grad(); g_loss.backward(); g_opt.step()
    for _ in range(k):
        real = next_real()
        fake = generator(sample_z(len(real))).detach()
        d_loss = d_loss_fn(discriminator(real), discriminator(fake))
        d_opt.zero_grad(); d_loss.backward(); d_opt.step()
    return {"d_loss": d_loss.item(), "g_loss": g_loss.item()}
""",
        "updates_d_in_phase_two": STEP_NO_GRAD.replace("    g_opt.step()\n", "    g_opt.step()\n    d_opt.step()\n"),
        "detached_generator_phase": STEP_NO_GRAD.replace(
            "g_loss = g_loss_fn(discriminator(generator(sample_z(len(real)))))",
            "g_loss = g_loss_fn(discriminator(generator(sample_z(len(real))).detach()))"),
        "reuses_real_batch": STEP_NO_GRAD.replace("    for _ in range(k):\n        real = next_real()\n",
                                                  "    real = next_real()\n    for _ in range(k):\n"),
        "returns_tensors": STEP_NO_GRAD.replace('{"d_loss": d_loss.item(), "g_loss": g_loss.item()}',
                                                '{"d_loss": d_loss, "g_loss": g_loss}'),
        "library_wrapper": ("from gancourse.train import alternating_step as _step\n"
                            "def alternating_step(*args, **kwargs):\n    return _step(*args, **kwargs)"),
    },
}
