"""Durations as plans write them.

Objectives, hook timeouts and the like use Go-style durations (`90s`, `15m`, `1h30m`, `2d`),
which is what Kubernetes users type. Retention's `within` keeps restic's meaning instead
(`1y6m`: `m` is a month there), because the repository's `forget` reads it that way.
"""

from __future__ import annotations

import re
from datetime import timedelta

_GO_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_GO_PART = re.compile(r"(\d+)([smhdw])")
_WITHIN_PART = re.compile(r"(\d+)([ymwdh])")
_WITHIN_DAYS = {"y": 365, "m": 30, "w": 7, "d": 1}


def _parts(pattern: re.Pattern[str], text: str) -> list[tuple[str, str]]:
    """All `<number><unit>` parts, or [] when anything else is in the text."""
    parts = pattern.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        return []
    return parts


def parse_duration(text: str) -> timedelta:
    """`1h30m` → 5400 s. Raises ValueError with the accepted form."""
    parts = _parts(_GO_PART, text.strip())
    if not parts:
        raise ValueError(f"{text!r} is not a duration; write e.g. 30s, 15m, 1h, 1h30m, 2d")
    return timedelta(seconds=sum(int(number) * _GO_UNITS[unit] for number, unit in parts))


def format_duration(value: timedelta) -> str:
    """The shortest Go-style spelling, so a plan read and written back reads the same."""
    seconds = int(value.total_seconds())
    if seconds == 0:
        return "0s"
    out = ""
    for unit in ("d", "h", "m", "s"):
        count, seconds = divmod(seconds, _GO_UNITS[unit])
        if count:
            out += f"{count}{unit}"
    return out


def parse_within(text: str) -> timedelta:
    """restic's `--keep-within` form: `1y2m3w4d5h`, years 365 days, months 30."""
    parts = _parts(_WITHIN_PART, text.strip())
    if not parts:
        raise ValueError(f"{text!r} is not a retention period; write e.g. 7d, 2w, 1y6m, 12h (m = months)")
    total = timedelta()
    for number, unit in parts:
        total += timedelta(hours=int(number)) if unit == "h" else timedelta(days=int(number) * _WITHIN_DAYS[unit])
    return total
