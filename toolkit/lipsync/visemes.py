"""Phonemes (IPA, from espeak-ng) to visemes, and visemes to mouth-parameter keyframes.

The viseme set is the common 15-class one used by real-time avatar lip-sync (silence,
PP, FF, TH, DD, kk, CH, SS, nn, RR, aa, E, ih, oh, ou). Each viseme has a target mouth
shape and a *dominance* per parameter (Cohen & Massaro 1993): a bilabial closure must
win over its neighbours' opening, while a /k/ or /h/ barely constrains the lips and so
takes the shape of the vowels around it. Lip rounding is dominant and spreads into
neighbouring consonants, as it does in real speech.

IPA symbols are read character by character, so diphthongs ("aɪ", "oʊ") and r-coloured
vowels ("ɛɹ") become two keyframes gliding from the first shape to the second, and the
same table serves every espeak-ng language.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np

from toolkit.lipsync.espeak import Phoneme


@dataclass(frozen=True)
class Viseme:
    name: str
    target: tuple[float, float, float]  # open, width, protrude
    dominance: tuple[float, float, float]  # per parameter


VISEMES: dict[str, Viseme] = {
    v.name: v
    for v in (
        Viseme("sil", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),
        Viseme("PP", (0.0, 0.0, 0.0), (6.0, 0.3, 0.3)),  # p b m: lips sealed
        Viseme("FF", (0.08, 0.05, 0.0), (3.0, 0.6, 0.6)),  # f v: lower lip on upper teeth
        Viseme("TH", (0.2, 0.1, 0.0), (1.0, 0.5, 0.5)),
        Viseme("DD", (0.22, 0.1, 0.0), (0.6, 0.3, 0.3)),
        Viseme("kk", (0.28, 0.0, 0.0), (0.4, 0.2, 0.2)),
        Viseme("CH", (0.15, -0.4, 0.7), (1.2, 1.5, 1.5)),  # sh, ch, zh, j: rounded, pushed out
        Viseme("SS", (0.1, 0.35, 0.0), (1.5, 1.0, 1.0)),  # teeth nearly together
        Viseme("nn", (0.2, 0.1, 0.0), (0.5, 0.3, 0.3)),
        Viseme("RR", (0.2, -0.35, 0.45), (0.8, 1.0, 1.0)),
        Viseme("aa", (0.8, 0.2, 0.0), (1.0, 1.0, 1.0)),
        Viseme("E", (0.5, 0.3, 0.0), (1.0, 1.0, 1.0)),
        Viseme("ih", (0.3, 0.6, 0.0), (1.0, 1.0, 1.0)),
        Viseme("oh", (0.55, -0.5, 0.5), (1.0, 1.2, 1.2)),
        Viseme("ou", (0.25, -0.85, 0.85), (1.0, 1.6, 1.6)),
    )
}

# IPA character -> viseme. Multi-character affricates are matched first.
_AFFRICATES = {"tʃ": "CH", "dʒ": "CH", "ts": "SS", "dz": "SS", "tɕ": "CH", "dʑ": "CH", "pf": "FF"}
_CHARS: dict[str, str] = {}
for _visemes, _chars in (
    ("PP", "pbmɸβ"),
    ("FF", "fvʋɱ"),
    ("TH", "θð"),
    ("DD", "tdʈɖɾ"),
    ("kk", "kgɡŋxɣqɢχʔhɦħʕcɟ"),
    ("CH", "ʃʒɕʑʂʐçʝ"),
    ("SS", "sz"),
    ("nn", "nɳlɭɫʎɲɴ"),
    ("RR", "rɹɻʀʁɺ"),
    ("aa", "aɑæɐäʌɶ"),
    ("E", "eɛəɜɚɝɘɞɤ"),
    ("ih", "iɪɨɯj"),
    ("oh", "oɔɒɵøœ"),
    ("ou", "uʊwɥyʏʉ"),
):
    for _c in _chars:
        _CHARS[_c] = _visemes

# Plosives: espeak-ng's segment for a stop starts at its release (the closure is the silent
# end of the previous segment), so their keyframe goes just before the segment start.
STOPS = frozenset("pbtdkgɡʈɖqɢcɟʔ")

MIN_SPREAD = 0.03  # seconds: the shortest influence a keyframe has on its neighbours
MAX_SPREAD = 0.12
STOP_CLOSURE_LEAD = 0.015  # a stop's closure shape peaks this long before its release event
STOP_SPREAD = 0.02  # a closure is brief: it must not eat the vowel before it


@dataclass(frozen=True)
class Keyframe:
    time: float  # seconds
    viseme: str
    spread: float  # seconds (sigma of the dominance function)
    phoneme: str  # the IPA segment it came from


def _units(symbol: str) -> list[tuple[str, bool]]:
    """(viseme, is_stop) per sound in one IPA segment; stress, length and diacritics dropped."""
    text = "".join(c for c in unicodedata.normalize("NFD", symbol) if c in _CHARS)
    out: list[tuple[str, bool]] = []
    i = 0
    while i < len(text):
        pair = text[i : i + 2]
        if pair in _AFFRICATES:
            out.append((_AFFRICATES[pair], False))
            i += 2
            continue
        out.append((_CHARS[text[i]], text[i] in STOPS))
        i += 1
    # one keyframe per shape: "ɪɪ" or "ts"-like repeats add nothing
    return [u for k, u in enumerate(out) if k == 0 or u[0] != out[k - 1][0]] or [("sil", False)]


def phoneme_visemes(symbol: str) -> list[str]:
    """The viseme sequence of one IPA phoneme segment ("" -> ["sil"], "aɪ" -> ["aa", "ih"])."""
    return [name for name, _ in _units(symbol)]


def keyframes(phonemes: list[Phoneme]) -> list[Keyframe]:
    """Viseme keyframes for timed phonemes, ordered by time."""
    frames: list[Keyframe] = []
    for ph in phonemes:
        units = _units(ph.symbol)
        step = (ph.end - ph.start) / len(units)
        for k, (name, is_stop) in enumerate(units):
            if name == "sil":
                # a pause holds the rest shape over its whole length
                frames.append(Keyframe(0.5 * (ph.start + ph.end), name, max(0.5 * (ph.end - ph.start), MIN_SPREAD), ph.symbol))
                continue
            if k == 0 and is_stop:
                time = max(ph.start - STOP_CLOSURE_LEAD, 0.0)
                spread = STOP_SPREAD
            else:
                time = ph.start + (k + 0.5) * step
                spread = float(np.clip(0.5 * step, MIN_SPREAD, MAX_SPREAD))
            frames.append(Keyframe(time, name, spread, ph.symbol))
    frames.sort(key=lambda f: f.time)
    return frames
