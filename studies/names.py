"""Suggestions for misspelled names: a study, metric, game, choice or parameter that is not known is refused
with the closest known names ("did you mean ...?") and, where the list is short, every allowed one.

A typo should cost one glance at the error, not a trip to the docs: the CLI's own lookups use
`unknown_name`, and `with_suggestion` adds the same hint to the refusals of the study config and the
argument parser, which already list what is allowed but not what was probably meant.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from models.params import ConfigError

SHORT_LIST = 20  # at most this many allowed names are listed in a message; beyond, a hint says where to look
SHORT_TEXT = 400  # nor more than this many characters of them


def close_matches(name: str, allowed: Iterable[str], n: int = 3) -> list[str]:
    """The allowed names closest to `name`, best first: one that differs only in case or whose initials it
    is (fdr: false_discovery_rate), then difflib's close matches about as close as the best one."""
    allowed = list(dict.fromkeys(str(item) for item in allowed))
    lowered = name.lower()
    exact = [
        item
        for item in allowed
        if item != name
        and (item.lower() == lowered or "".join(p[:1] for p in item.lower().split("_")) == lowered)
    ]
    found = difflib.get_close_matches(name, allowed, n=n, cutoff=0.6)
    if not found and len(name) >= 4:  # a typo in the start of a long name: compare with the starts
        starts: dict[str, str] = {}
        for item in allowed:
            starts.setdefault(item[: len(name) + 1].lower(), item)
        found = [starts[m] for m in difflib.get_close_matches(lowered, list(starts), n=n, cutoff=0.75)]
    if found:  # only those about as close as the best: a far second guess is noise
        best = difflib.SequenceMatcher(None, name, found[0]).ratio()
        found = [item for item in found if difflib.SequenceMatcher(None, name, item).ratio() >= best - 0.1]
    return list(dict.fromkeys(exact + found))[:n]


def did_you_mean(name: str, allowed: Iterable[str]) -> str:
    """The hint `did you mean 'x'?` (or `'x' or 'y'`), or "" where no allowed name is close."""
    found = close_matches(name, allowed)
    return f"did you mean {' or '.join(repr(item) for item in found)}?" if found else ""


def listing(allowed: Iterable[str], hint: str = "") -> str:
    """'allowed are a, b, c' where that is short; else how many there are and `hint` (where to see them)."""
    allowed = list(allowed)
    text = ", ".join(allowed)
    if not allowed:
        return f"there are none{'; ' + hint if hint else ''}"
    if len(allowed) <= SHORT_LIST and len(text) <= SHORT_TEXT:
        return f"allowed {'is' if len(allowed) == 1 else 'are'} {text}"
    return f"{len(allowed)} are allowed{' (' + hint + ')' if hint else ''}"


def unknown_name(
    kind: str, name: str, allowed: Iterable[str], where: str = "", hint: str = ""
) -> ConfigError:
    """The one-line refusal of a name that is not among `allowed`: what it is, the closest known names, and
    what is allowed (or, for a long list, `hint`: where to see it)."""
    allowed = list(allowed)
    suggestion = did_you_mean(name, allowed)
    return ConfigError(
        f"{kind} {name!r} is not known{' ' + where if where else ''}: "
        f"{suggestion + ' ' if suggestion else ''}{listing(allowed, hint)}."
    )


# Refusals of other parts (the study config, the parameter spaces, argparse) that name what was given and
# list what is allowed: (pattern of the given names, pattern of the allowed list). Names are quoted or not,
# several separated by commas.
_GIVEN = (
    r"unknown [\w ]+\(s\) (?P<names>.+?): ",
    r"has no parameter '(?P<names>[^']+)'",
    r"^sweep\.(?P<names>\w+) is not a parameter",
    r"= '(?P<names>[^']*)' is not a known \w+",
    r"invalid choice: '?(?P<names>[^'(]*?)'? \(choose from",
)
_ALLOWED = (
    r"allowed are its parameters \((?P<allowed>[^)]*)\)",
    r"allowed (?:are|is one of|is) (?P<allowed>.+?)(?: \(|\.$|$)",
    r"the \w+ game's roles are (?P<allowed>.+?)\.$",
    r"\(choose from (?P<allowed>.+)\)",
)


def with_suggestion(message: str) -> str:
    """The message of a refusal with "did you mean ...?" added before its list of what is allowed, where it
    names something unknown and a known name is close; else the message unchanged."""
    if "did you mean" in message:
        return message
    given = next((m for pattern in _GIVEN if (m := re.search(pattern, message))), None)
    if given is None:
        return message
    listed = next((m for pattern in _ALLOWED if (m := re.search(pattern, message))), None)
    if listed is None:
        return message
    allowed = _split(listed["allowed"])
    hints = [hint for name in _split(given["names"]) if (hint := did_you_mean(name, allowed))]
    if not hints:
        return message
    suggestion = " ".join(dict.fromkeys(hints))
    before = message[: listed.start()].rstrip()
    return f"{before if before.endswith(':') else before + ':'} {suggestion} {message[listed.start() :]}"


def _split(names: str) -> list[str]:
    """'a, b', "'a', 'b'" or '[a], [b]' -> the names."""
    parts = re.split(r",\s*", names.strip())
    return [part.strip().strip("'\"[]") for part in parts if part.strip().strip("'\"[]")]
