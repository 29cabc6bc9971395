"""Speech synthesis with phoneme timings from the espeak-ng library (via ctypes).

The ``espeak-ng`` command line cannot report *when* each phoneme is spoken (``--pho``
needs an MBROLA voice), but the library's synthesis callback reports a phoneme event
with its position in the generated audio. We load ``libespeak-ng`` directly, ask for
IPA phoneme names and collect the 22.05 kHz samples in the same pass, so the timings
and the audio track come from one synthesis and cannot drift apart.

Timing convention (measured on espeak-ng 1.51): a stop's event (p, b, t...) marks its
release; the closure is the silent end of the preceding segment.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from dataclasses import dataclass

import numpy as np

from toolkit.errors import DftkError, InputError

MAX_TEXT_CHARS = 5000

# speak_lib.h constants
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_PHONEME_EVENTS = 0x0001
_INITIALIZE_PHONEME_IPA = 0x0002
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_EVENT_LIST_TERMINATED = 0
_EVENT_PHONEME = 7
_PARAM_RATE = 1
_PARAM_PITCH = 3


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),  # milliseconds into the generated audio
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


class _Voice(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_void_p),  # (priority byte, language, NUL)*, NUL
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


_Callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


@dataclass(frozen=True)
class Phoneme:
    symbol: str  # IPA, "" for a pause
    start: float  # seconds into the synthesised audio
    end: float


@dataclass
class Speech:
    samples: np.ndarray  # float32 mono in [-1, 1]
    rate: int
    phonemes: list[Phoneme]  # contiguous, ordered, covering [0, duration]

    @property
    def duration(self) -> float:
        return len(self.samples) / self.rate


class _Engine:
    """The process-wide espeak-ng instance (the library keeps global state: one caller at a time)."""

    def __init__(self) -> None:
        name = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
        try:
            self.lib = ctypes.CDLL(name)
        except OSError:
            raise DftkError("espeak-ng is not installed: install the espeak-ng package (e.g. apt install espeak-ng)") from None
        self.lib.espeak_Synth.argtypes = [
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
            ctypes.c_void_p, ctypes.c_void_p,
        ]
        self.lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self.lib.espeak_SetVoiceByProperties.argtypes = [ctypes.POINTER(_Voice)]
        self.lib.espeak_GetCurrentVoice.restype = ctypes.POINTER(_Voice)
        self.rate = self.lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, None, _INITIALIZE_PHONEME_EVENTS | _INITIALIZE_PHONEME_IPA
        )
        if self.rate <= 0:
            raise DftkError("espeak-ng failed to initialise: its data files may be missing")
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[int, str]] = []
        self._callback = _Callback(self._on_synth)  # keep a reference: C holds only the pointer
        self.lib.espeak_SetSynthCallback(self._callback)
        self.lock = threading.Lock()

    def _on_synth(self, wav, count, events) -> int:
        if wav and count > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            event = events[i]
            if event.type == _EVENT_PHONEME:
                self._events.append((event.audio_position, event.id.string.decode("utf-8", "replace")))
            i += 1
        return 0

    def _set_voice(self, voice: str) -> None:
        """A voice name ("en-us", "en-us+f3") or, like the command line, a language ("en-gb+f3")."""
        if self.lib.espeak_SetVoiceByName(voice.encode()) == 0:
            return
        language, _, variant = voice.partition("+")
        wanted = language.encode()
        buffer = ctypes.create_string_buffer(wanted)  # kept alive across the call below
        spec = _Voice(languages=ctypes.cast(buffer, ctypes.c_void_p))
        if language and self.lib.espeak_SetVoiceByProperties(ctypes.byref(spec)) == 0:
            current = self.lib.espeak_GetCurrentVoice()
            # the lookup is fuzzy ("no-such" picks Norwegian "no"): insist on an exact language
            if current and wanted.lower() in _languages(current.contents.languages):
                identifier = current.contents.identifier
                if not variant or self.lib.espeak_SetVoiceByName(identifier + b"+" + variant.encode()) == 0:
                    return
        raise InputError(f"unknown espeak-ng voice {voice!r} (see `espeak-ng --voices`)")

    def synthesize(self, text: str, voice: str, words_per_minute: int, pitch: int) -> tuple[np.ndarray, list[tuple[int, str]]]:
        with self.lock:
            self._set_voice(voice)
            self.lib.espeak_SetParameter(_PARAM_RATE, int(words_per_minute), 0)
            self.lib.espeak_SetParameter(_PARAM_PITCH, int(pitch), 0)
            self._chunks, self._events = [], []
            data = text.encode("utf-8")
            buffer = ctypes.create_string_buffer(data)
            status = self.lib.espeak_Synth(buffer, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
            self.lib.espeak_Synchronize()
            if status != 0:
                raise DftkError(f"espeak-ng could not synthesise the text (error {status})")
            chunks, events = self._chunks, self._events
            self._chunks, self._events = [], []
        samples = np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
        return samples, events


def _languages(pointer: int | None) -> set[bytes]:
    """Decode espeak_VOICE.languages: repeated (priority byte, name, NUL), ended by a NUL."""
    if not pointer:
        return set()
    raw = ctypes.string_at(pointer, 256)
    names, i = set(), 0
    while i < len(raw) and raw[i] != 0:
        end = raw.find(b"\0", i + 1)
        if end < 0:
            break
        names.add(raw[i + 1 : end].lower())
        i = end + 1
    return names


_engine: _Engine | None = None
_engine_lock = threading.Lock()


def _get_engine() -> _Engine:
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = _Engine()
        return _engine


def synthesize(text: str, voice: str = "en-us", words_per_minute: int = 160, pitch: int = 50) -> Speech:
    """Speak ``text`` with espeak-ng; return the audio and IPA phonemes with their times.

    Plain text only: characters that would start SSML are not interpreted. ``voice`` is an
    espeak-ng voice name such as ``"en-us"`` or ``"en-us+f3"``.
    """
    text = " ".join(str(text).split())
    if not text:
        raise InputError("the text to speak is empty")
    if len(text) > MAX_TEXT_CHARS:
        raise InputError(f"the text to speak is too long ({len(text)} characters, at most {MAX_TEXT_CHARS})")
    if not 80 <= words_per_minute <= 450:
        raise InputError("speech rate must be between 80 and 450 words per minute")
    engine = _get_engine()
    raw, events = engine.synthesize(text, voice, words_per_minute, pitch)
    rate = engine.rate
    samples = raw.astype(np.float32) / 32768.0
    duration = len(samples) / rate
    if duration == 0 or not events:
        raise InputError("espeak-ng produced no speech for this text")
    return Speech(samples, rate, _phoneme_segments(events, duration))


def _phoneme_segments(events: list[tuple[int, str]], duration: float) -> list[Phoneme]:
    """Turn phoneme start events into contiguous segments covering ``[0, duration]``."""
    # "(en)"-style events mark a language switch inside the text, not a sound
    starts = [
        (min(max(ms / 1000.0, 0.0), duration), symbol.strip())
        for ms, symbol in events
        if not (symbol.startswith("(") and symbol.endswith(")"))
    ]
    if not starts:
        starts = [(0.0, "")]
    starts.sort(key=lambda item: item[0])  # events are ordered; guard against library quirks
    if starts[0][0] > 0:
        starts.insert(0, (0.0, ""))
    segments: list[Phoneme] = []
    for i, (start, symbol) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else duration
        if end <= start:
            continue  # zero-length events (a pause marker at the same instant)
        if segments and symbol == "" and segments[-1].symbol == "":
            segments[-1] = Phoneme("", segments[-1].start, end)  # merge adjacent pauses
        else:
            segments.append(Phoneme(symbol, start, end))
    return segments
