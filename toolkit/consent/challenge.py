"""Challenge phrases and the consent statement a subject reads on camera.

A challenge is issued for one capture: four words drawn with :mod:`secrets` from a list of
256 easy-to-say words (32 bits), single-use and valid for :data:`CHALLENGE_TTL`. The
statement names the subject, the scopes and the expiry of the consent, so the recording
is evidence of exactly what the record grants; ``create`` takes scopes and expiry from the
challenge, never from a later command line.

The toolkit does not transcribe the recording (no offline speech recogniser ships with
it): the phrase makes a recording specific to one capture for a human reviewer, and the
capture checks verify that *someone is speaking with a moving mouth*, not what they say.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import asdict, dataclass

from toolkit.consent.record import SCOPE_DESCRIPTIONS, format_time, utc_now

CHALLENGE_WORDS = 4
CHALLENGE_TTL = dt.timedelta(minutes=30)

WORDS = (
    "acorn", "acrobat", "almond", "amber", "anchor", "apple", "apricot", "arrow", "autumn", "avocado",
    "badger", "bakery", "balloon", "bamboo", "banjo", "barley", "basil", "basket", "beacon", "beaver",
    "beetle", "berry", "bicycle", "biscuit", "blanket", "blossom", "bonfire", "bottle", "bramble",
    "breeze", "bridge", "bronze", "bucket", "buffalo", "butter", "cabbage", "cabin", "cactus", "camel",
    "candle", "canoe", "canyon", "caramel", "carpet", "carrot", "castle", "cedar", "cherry", "chestnut",
    "cinnamon", "circus", "clover", "cobalt", "coconut", "comet", "compass", "cookie", "copper", "coral",
    "cotton", "cradle", "crayon", "cricket", "crystal", "cuckoo", "cucumber", "daisy", "dancer", "desert",
    "diamond", "dolphin", "donkey", "dragon", "dune", "eagle", "echo", "elbow", "elephant", "ember",
    "falcon", "feather", "fern", "fiddle", "fig", "flamingo", "forest", "fossil", "fountain", "fox",
    "galaxy", "garden", "garlic", "gazelle", "geyser", "ginger", "giraffe", "glacier", "goblet", "granite",
    "grape", "gravel", "guitar", "hammock", "harbor", "harvest", "hazel", "hedgehog", "helmet", "heron",
    "honey", "horizon", "hummingbird", "iceberg", "igloo", "indigo", "island", "ivory", "jacket", "jaguar",
    "jasmine", "jelly", "jellyfish", "jigsaw", "jungle", "kayak", "kettle", "kitten", "kiwi", "koala",
    "ladder", "lagoon", "lantern", "lemon", "lemonade", "lighthouse", "lily", "lizard", "llama", "lobster",
    "lotus", "magnet", "mango", "maple", "marble", "marigold", "meadow", "melon", "meteor", "mirror",
    "mitten", "monkey", "mosaic", "muffin", "mustard", "napkin", "nectar", "nest", "nickel", "noodle",
    "nutmeg", "oak", "oasis", "oatmeal", "ocean", "olive", "onion", "orange", "orbit", "orchid", "otter",
    "owl", "oyster", "paddle", "panda", "paper", "parrot", "peach", "peanut", "pebble", "pelican",
    "pepper", "piano", "pickle", "pigeon", "pillow", "pine", "planet", "plum", "pony", "poppy", "potato",
    "pretzel", "pumpkin", "puzzle", "quail", "quartz", "quilt", "rabbit", "radish", "rainbow", "raven",
    "ribbon", "river", "robin", "rocket", "saddle", "saffron", "salmon", "sandal", "sapphire", "scarf",
    "seagull", "shadow", "silver", "sparrow", "spider", "spinach", "sponge", "squirrel", "starfish",
    "stone", "summer", "sunset", "swan", "teapot", "thimble", "thunder", "tiger", "timber", "tomato",
    "topaz", "tortoise", "tractor", "trumpet", "tulip", "tunnel", "turnip", "umbrella", "valley", "velvet",
    "violet", "violin", "volcano", "waffle", "wagon", "walnut", "walrus", "whale", "whistle", "willow",
    "window", "winter", "wizard", "yogurt", "zebra", "zipper",
)

assert len(set(WORDS)) == 256


@dataclass(frozen=True)
class Challenge:
    id: str
    subject: str
    phrase: str
    statement: str
    scopes: tuple[str, ...]
    consent_expires: str  # when the consent this statement grants ends
    issued: str
    expires: str  # when this challenge can no longer be used for a capture
    used_by: str | None = None  # the record created from it

    def to_dict(self) -> dict:
        data = asdict(self)
        data["scopes"] = list(self.scopes)
        return data


def new_phrase(n_words: int = CHALLENGE_WORDS) -> str:
    return " ".join(secrets.choice(WORDS) for _ in range(n_words))


def statement_text(subject: str, scopes: tuple[str, ...], consent_expires: dt.datetime, phrase: str) -> str:
    uses = "; ".join(SCOPE_DESCRIPTIONS[s] for s in scopes)
    return (
        f"I, {subject}, agree that this toolkit may create synthetic video of my face for: {uses}. "
        f"This consent lasts until {consent_expires.strftime('%Y-%m-%d %H:%M')} UTC, and I can revoke it at any time. "
        f"My challenge phrase is: {phrase}."
    )


def make_challenge(subject: str, scopes: tuple[str, ...], consent_expires: dt.datetime,
                   ttl: dt.timedelta = CHALLENGE_TTL) -> Challenge:
    phrase = new_phrase()
    now = utc_now()
    return Challenge(
        id="ch_" + secrets.token_hex(6),
        subject=subject,
        phrase=phrase,
        statement=statement_text(subject, scopes, consent_expires, phrase),
        scopes=tuple(scopes),
        consent_expires=format_time(consent_expires),
        issued=format_time(now),
        expires=format_time(now + ttl),
    )
