"""Error correction for the invisible mark: a tail-biting convolutional code with soft decoding.

:class:`ConvolutionalCode` is a generic tail-biting code: the encoder starts in the state its
last ``constraint - 1`` input bits leave it in, so no tail bits are spent and ``m`` input bits
become exactly ``m * len(generators)`` coded bits. The mark uses rate 1/8, constraint length 7
(see :data:`watermark.pattern.CODE`).

Decoding is exact maximum-likelihood over the tail-biting trellis: one soft-decision Viterbi
pass per possible start state (64 of them, run side by side in numpy), keeping the best path
that ends where it started. Soft inputs are correlations: positive means bit 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

DEFAULT_GENERATORS = (0o117, 0o127, 0o155, 0o171)
DEFAULT_CONSTRAINT = 7


def _parity(x: np.ndarray) -> np.ndarray:
    x = x.copy()
    out = np.zeros_like(x)
    while np.any(x):
        out ^= x & 1
        x >>= 1
    return out


@dataclass
class ConvolutionalCode:
    """Tail-biting convolutional code; ``encode`` / ``decode`` work on 0/1 bit arrays."""

    generators: tuple[int, ...] = DEFAULT_GENERATORS
    constraint: int = DEFAULT_CONSTRAINT
    _next_out: np.ndarray = field(init=False, repr=False)
    _pred: np.ndarray = field(init=False, repr=False)
    _pred_out: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        k = self.constraint
        n_states = 1 << (k - 1)
        gens = np.array(self.generators, dtype=np.int64)
        # A state holds the previous k-1 input bits, newest in the most significant bit.
        # The shift register seen by the generators is (input, state), input as the MSB.
        states = np.arange(n_states, dtype=np.int64)
        regs = np.stack([(u << (k - 1)) | states for u in (0, 1)], axis=1)  # (S, 2)
        self._next_out = _parity(regs[..., None] & gens)  # (S, 2, r) bits
        # Predecessors of each next state s' = (u << (k-2)) | (s >> 1).
        nxt = states
        u = nxt >> (k - 2)
        low = (nxt << 1) & (n_states - 1)
        self._pred = np.stack([low, low | 1], axis=1)  # (S', 2) predecessor states
        self._pred_out = np.stack(
            [self._next_out[self._pred[:, b], u] for b in (0, 1)], axis=1
        )  # (S', 2, r)

    @property
    def rate_inverse(self) -> int:
        return len(self.generators)

    @property
    def n_states(self) -> int:
        return 1 << (self.constraint - 1)

    def coded_length(self, n_bits: int) -> int:
        return n_bits * self.rate_inverse

    def encode(self, bits: np.ndarray) -> np.ndarray:
        bits = np.asarray(bits, dtype=np.int64).ravel()
        m, k = len(bits), self.constraint
        if m < k - 1:
            raise ValueError(f"tail-biting needs at least {k - 1} bits, got {m}")
        state = 0
        for b in bits[m - (k - 1):]:  # the state the last k-1 bits leave behind
            state = (int(b) << (k - 2)) | (state >> 1)
        out = np.empty((m, self.rate_inverse), dtype=np.uint8)
        for t, b in enumerate(bits):
            out[t] = self._next_out[state, int(b)]
            state = (int(b) << (k - 2)) | (state >> 1)
        return out.ravel()

    def decode(self, soft: np.ndarray) -> np.ndarray:
        """Maximum-likelihood tail-biting decode of soft values (positive = 1)."""
        r = self.rate_inverse
        soft = np.asarray(soft, dtype=np.float64).ravel()
        if soft.size % r:
            raise ValueError(f"soft length {soft.size} is not a multiple of {r}")
        m = soft.size // r
        s_count = self.n_states
        signs = 2.0 * self._pred_out - 1.0  # (S', 2, r)
        branch = soft.reshape(m, r) @ signs.reshape(-1, r).T  # (m, S'*2)
        branch = branch.reshape(m, s_count, 2)
        # metrics[start, state]; every start state is a separate trellis.
        metrics = np.full((s_count, s_count), -np.inf)
        metrics[np.arange(s_count), np.arange(s_count)] = 0.0
        decisions = np.empty((m, s_count, s_count), dtype=np.uint8)
        pred = self._pred
        for t in range(m):
            cand = metrics[:, pred] + branch[t][None]  # (start, S', 2)
            choice = cand[..., 1] > cand[..., 0]
            decisions[t] = choice
            metrics = np.where(choice, cand[..., 1], cand[..., 0])
        finals = metrics[np.arange(s_count), np.arange(s_count)]
        start = int(np.argmax(finals))
        state = start
        bits = np.empty(m, dtype=np.uint8)
        for t in range(m - 1, -1, -1):
            bits[t] = state >> (self.constraint - 2)
            state = int(pred[state, decisions[t, start, state]])
        return bits
