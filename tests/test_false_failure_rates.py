"""How often does a correct answer fail a statistical check? Worked out from the judges' limits, not sampled.

Some parts are random by nature: flipped labels (a2), an initialisation (a3), a replay buffer's picks,
truncated latents and the interpolation points of the gradient penalty (a5). Their judges test the
draws statistically, on requests whose sizes, rates and thresholds depend on the grading salt, so a
correct answer fails with some small probability at every grading. Each test below computes that
probability from the judge's own limits, for the requests the probe makes under many salts, and
requires the worst salt's total to stay below BUDGET per submission. A sweep over salts
(scripts/salt_sweep.py) checks the fixtures; no sweep of feasible size could see rates this small.

Exact binomial tails are used where the statistic is a count; the normal tail where it is a mean of
many independent values (tens of thousands here), with the standard errors of the sample moments.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest
from scipy import special, stats

from autograder.judges import a2 as judge_a2
from autograder.judges import a3 as judge_a3
from autograder.judges import a5 as judge_a5
from autograder.probes import SALT
from autograder.probes.a2 import label_calls
from autograder.probes.a3 import init_target
from autograder.probes.a5 import latent_cases, replay_script

BUDGET = 1e-5  # per submission and assignment: one honest student in 100,000 loses a point by chance
SALTS = [hashlib.sha256(f"false failures {i}".encode()).hexdigest()[:32] for i in range(24)]


def normal_tail(z: float) -> float:
    """P(|N(0, 1)| > z)."""
    return float(2 * stats.norm.sf(z))


def binomial_outside(n: int, p: float, low: float, high: float) -> float:
    """P(X < low or X > high) for X ~ Binomial(n, p)."""
    below = stats.binom.cdf(math.ceil(low) - 1, n, p)
    above = stats.binom.sf(math.floor(high), n, p)
    return float(below + above)


def worst_over_salts(monkeypatch, rate) -> float:
    """The largest of ``rate()`` (the false-failure probability of the requests made under the salt now set)."""
    worst = 0.0
    for salt in SALTS:
        monkeypatch.setenv(SALT, salt)
        worst = max(worst, rate())
    return worst


def test_the_helpers_give_the_textbook_values():
    assert normal_tail(1.959964) == pytest.approx(0.05, rel=1e-5)
    assert binomial_outside(10, 0.5, 1, 9) == pytest.approx(2 / 1024)  # 0 or 10 heads


# --- a2: flipped_labels ----------------------------------------------------------------------------------

def flipped_labels_rate() -> float:
    total = 0.0
    for key, n, _, p, _ in label_calls():
        if key.startswith("rate/"):
            sd = math.sqrt(n * p * (1 - p))
            total += binomial_outside(n, p, n * p - judge_a2.RATE_Z * sd, n * p + judge_a2.RATE_Z * sd)
            size = n // 10
            sd = math.sqrt(size * p * (1 - p))
            total += 10 * binomial_outside(size, p, size * p - judge_a2.SPREAD_Z * sd,
                                           size * p + judge_a2.SPREAD_Z * sd)
            # neighbouring pairs both flipped: mean (n-1)p^2, true variance below the judge's 3 n p^2 (1 - p^2)
            true_sd = math.sqrt((n - 1) * p * p * (1 - p * p) + 2 * (n - 2) * p ** 3 * (1 - p))
            total += normal_tail(judge_a2.SPREAD_Z * math.sqrt(3 * n * p * p * (1 - p * p)) / true_sd)
        elif key == "none/0":
            sd = math.sqrt(n * p * (1 - p))
            total += binomial_outside(n, p, n * p - judge_a2.SPREAD_Z * sd, n * p + judge_a2.SPREAD_Z * sd)
    return total


def test_a2_flipped_labels_fail_a_correct_answer_less_than_once_in_100000(monkeypatch, measured):
    worst = worst_over_salts(monkeypatch, flipped_labels_rate)
    measured(f"[measured] a2 flipped_labels: a correct answer fails with probability {worst:.1e} (worst of "
             f"{len(SALTS)} salts)")
    assert worst < BUDGET


def test_a2_limits_that_were_looser_would_be_caught(monkeypatch):
    """The computation can fail: at 3 standard deviations a correct answer would fail too often."""
    monkeypatch.setattr(judge_a2, "RATE_Z", 3.0)
    assert worst_over_salts(monkeypatch, flipped_labels_rate) > BUDGET


# --- a3: dcgan_weights_init ------------------------------------------------------------------------------

def initialisation_rate() -> float:
    """Every tensor _looks_normal judges: a std within STD_TOLERANCE, a mean within MEAN_Z standard errors,
    an excess kurtosis within KURTOSIS_LIMIT; normal values, so the sample std has standard error s / sqrt(2n)
    and the excess kurtosis sqrt(24 / n)."""
    sizes = [value.numel() for name, value in init_target().state_dict().items()
             if name in ("0.weight", "2.0.weight", "3.weight", "4.weight")]
    assert len(sizes) == 4
    return sum(normal_tail(judge_a3.STD_TOLERANCE * math.sqrt(2 * n)) + normal_tail(judge_a3.MEAN_Z)
               + normal_tail(judge_a3.KURTOSIS_LIMIT / math.sqrt(24 / n)) for n in sizes)


def test_a3_initialisation_fails_a_correct_answer_less_than_once_in_100000(monkeypatch, measured):
    worst = worst_over_salts(monkeypatch, initialisation_rate)
    measured(f"[measured] a3 dcgan_weights_init: a correct answer fails with probability {worst:.1e}")
    assert worst < BUDGET


# --- a5: ReplayBuffer, gradient_penalty, truncated_latents -----------------------------------------------

def replay_buffer_rate() -> float:
    script = replay_script()
    # main: 2,000 draws from everything stored by then, each sample's count binomial
    stored = 0
    for _, buffer, op, arg in script:
        if buffer == "main" and op in ("mix", "push", "push_graph", "push_reused"):
            stored += arg[1]
        if buffer == "main" and op == "sample":
            break
    assert stored == 40
    low, high = judge_a5.SAMPLE_COUNTS
    main = stored * binomial_outside(2000, 1 / stored, low, high)
    # small: the 8 samples of the last push land in 8 slots of 12 drawn at random with repeats (the worst
    # correct design); fewer than FEW_KEPT distinct slots happens when all 8 draws hit FEW_KEPT - 1 slots or fewer
    capacity, pushed = 12, 8
    small = sum(special.comb(capacity, k)  # onto exactly k of the slots: inclusion-exclusion
                * sum((-1) ** j * special.comb(k, j) * ((k - j) / capacity) ** pushed for j in range(k + 1))
                for k in range(1, judge_a5.FEW_KEPT))
    # wide: 30 draws of 8 at fraction 1.0 from a store of 64 and more: fewer than 40 distinct replayed is less
    # likely than 240 draws from 64 all falling into some 39 of them (a union bound)
    wide = special.comb(64, 39) * (39 / 64) ** 240
    return float(main + small + wide)


def test_a5_replay_buffer_fails_a_correct_answer_less_than_once_in_100000(monkeypatch, measured):
    worst = worst_over_salts(monkeypatch, replay_buffer_rate)
    measured(f"[measured] a5 ReplayBuffer: a correct answer fails with probability {worst:.1e}")
    assert worst < BUDGET


def truncation_and_penalty_rate() -> float:
    """Per law case: the mean and the mean square within Z_LIMIT standard errors, a KS p-value above
    KS_LEVEL; and one more KS test for the penalty's interpolation points."""
    laws = [case for case in latent_cases() if case[0].startswith("law")]
    assert len(laws) == 4
    total = 0.0
    for _, n, dim, t, _, _ in laws:
        law = stats.truncnorm(-t, t)
        size = n * dim
        total += 2 * normal_tail(judge_a5.Z_LIMIT) + judge_a5.KS_LEVEL
        # entries exactly at +-t in float32: a correct draw lands there with probability density x ulp
        at_edge = size * 2 * law.pdf(t) * np.spacing(np.float32(t))
        total += float(stats.poisson.sf(5, at_edge))
    return total + judge_a5.KS_LEVEL


def test_a5_truncation_and_penalty_fail_a_correct_answer_less_than_once_in_100000(monkeypatch, measured):
    worst = worst_over_salts(monkeypatch, truncation_and_penalty_rate)
    measured(f"[measured] a5 truncated_latents and gradient_penalty: a correct answer fails with probability "
             f"{worst:.1e}")
    assert worst + replay_buffer_rate() < BUDGET


def test_a5_the_old_kolmogorov_smirnov_level_would_be_caught(monkeypatch):
    monkeypatch.setattr(judge_a5, "KS_LEVEL", 1e-4)
    assert worst_over_salts(monkeypatch, truncation_and_penalty_rate) > BUDGET


# --- portfolio: train_cgan with fix="replay" ---------------------------------------------------------------

def replay_share_rate() -> float:
    """The share of old fakes D judged from step 2 on must lie within REPLAY_Z binomial standard deviations of
    one half; an honest replay that makes each fake old with probability 1/2 is the worst case."""
    from autograder.judges import portfolio as judge
    from autograder.probes.portfolio import REFEREE

    shown = (REFEREE["steps"] - 1) * REFEREE["batch_size"]
    half_width = judge.REPLAY_Z * math.sqrt(0.25 / shown) * shown
    return binomial_outside(shown, 0.5, shown / 2 - half_width, shown / 2 + half_width)


def test_portfolio_replay_share_fails_a_correct_answer_less_than_once_in_100000(measured):
    """The referee run is seeded by the grader (seed 5, not salted): the rate is per honest design."""
    rate = replay_share_rate()
    measured(f"[measured] portfolio replay share: a correct answer fails with probability {rate:.1e}")
    assert rate < BUDGET


def test_the_referee_batch_is_large_enough_for_the_limit_to_fail_one_old_fake_a_step(monkeypatch):
    """Replaying a single fake a step shows D a share of 1/batch_size; at batch 8 (40 fakes judged) the sound
    limit would let it pass, which is why the referee run uses batch 16."""
    from autograder.judges import portfolio as judge
    from autograder.probes.portfolio import REFEREE

    def one_fake_fails() -> bool:
        shown = (REFEREE["steps"] - 1) * REFEREE["batch_size"]
        return abs(1 / REFEREE["batch_size"] - 0.5) > judge.REPLAY_Z * math.sqrt(0.25 / shown)

    assert one_fake_fails()
    monkeypatch.setitem(REFEREE, "batch_size", 8)
    assert not one_fake_fails()
