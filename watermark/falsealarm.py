"""Detection thresholds of the invisible mark, and their false-detection bounds.

A candidate decode (one key, profile, scale and sync peak) yields the maximum-likelihood
64-bit payload and its re-encoded 512-bit codeword ``c``. Two statistics compare the received
soft values with ``c``:

* ``matches``: how many of the ``n = 512`` coded bits have the sign of ``c`` (hard decisions);
* ``score``: the normalised soft agreement over the ``m`` data slots,
  ``z = sum(y_i * c_i) / sqrt(sum(y_i ** 2))`` (``y_i`` the whitened slot values).

Null model: on content that carries no mark of this key, every slot value is multiplied by an
independent key-random sign, so given the magnitudes the signs are independent fair coins. For
any *fixed* codeword, ``matches`` is then Binomial(n, 1/2), and ``z`` is a sum of independent
weighted Rademacher variables, so by Hoeffding's inequality P(z >= t) <= exp(-t**2 / 2).
The decoder may land on any of the 2**64 codewords and tries ``trials`` candidates, so by the
union bound, with half of the budget ``MAX_FALSE_RATE = 1e-6`` for each statistic:

    P(false detection) <= trials * 2**64 * (P[Binomial(n, 1/2) >= T_bits] + exp(-T_score**2 / 2))
                       <= 5e-7 + 5e-7 = 1e-6.

:func:`thresholds` gives the smallest ``T_bits`` and ``T_score`` meeting this. With the default
decoder and the public key only (2 profiles x 8 scales x 2 orientations x 2 sync peaks = 64
trials) that is ``T_bits = 378`` of 512 coded bits (73.8 %) and ``T_score = 11.23`` (bound
8.6e-7); with a private key as well (128 trials) ``T_bits = 379`` and ``T_score = 11.29``
(bound 7.5e-7).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from scipy.stats import binom

MAX_FALSE_RATE = 1e-6


@dataclass(frozen=True)
class Thresholds:
    trials: int
    bits: int  # coded bits that must agree
    n_bits: int
    score: float  # normalised soft agreement that must be reached
    bits_bound: float  # union bound contributed by the bit statistic
    score_bound: float  # union bound contributed by the soft statistic

    @property
    def false_rate_bound(self) -> float:
        return self.bits_bound + self.score_bound


def bits_bound(threshold: int, n_bits: int, payload_bits: int, trials: int) -> float:
    """trials * 2**payload_bits * P[Binomial(n_bits, 1/2) >= threshold]."""
    tail = float(binom.sf(threshold - 1, n_bits, 0.5))
    return trials * math.ldexp(tail, payload_bits)


def score_bound(threshold: float, payload_bits: int, trials: int) -> float:
    """trials * 2**payload_bits * exp(-threshold**2 / 2) (Hoeffding)."""
    return trials * math.ldexp(math.exp(-threshold * threshold / 2), payload_bits)


@lru_cache(maxsize=64)
def thresholds(n_bits: int, payload_bits: int, trials: int, max_rate: float = MAX_FALSE_RATE) -> Thresholds:
    half = max_rate / 2
    bits = next(t for t in range(n_bits // 2, n_bits + 2)
                if t > n_bits or bits_bound(t, n_bits, payload_bits, trials) <= half)
    score = math.sqrt(2 * (math.log(trials) + payload_bits * math.log(2) - math.log(half)))
    return Thresholds(trials, bits, n_bits, score,
                      bits_bound(bits, n_bits, payload_bits, trials),
                      score_bound(score, payload_bits, trials))
