"""Retention policy for `forget`: which snapshots to keep, with the rule that keeps each."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from mlark.repo.errors import UsageError
from mlark.repo.models import Snapshot

_BUCKETS: dict[str, Callable[[dt.datetime], object]] = {
    "hourly": lambda t: (t.year, t.month, t.day, t.hour),
    "daily": lambda t: (t.year, t.month, t.day),
    "weekly": lambda t: t.isocalendar()[:2],
    "monthly": lambda t: (t.year, t.month),
    "yearly": lambda t: t.year,
}


@dataclass
class Policy:
    last: int = 0
    hourly: int = 0
    daily: int = 0
    weekly: int = 0
    monthly: int = 0
    yearly: int = 0
    within: str | None = None
    keep_tags: list[str] = field(default_factory=list)

    def empty(self) -> bool:
        counts = (self.last, self.hourly, self.daily, self.weekly, self.monthly, self.yearly)
        return not any(counts) and not self.within and not self.keep_tags


def parse_duration(text: str) -> dt.timedelta:
    """`1y2m3w4d5h`: years are 365 days, months 30, as restic's --keep-within reads them."""
    parts = re.findall(r"(\d+)([ymwdh])", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise UsageError(f"invalid duration {text!r}; use e.g. 7d, 2w, 1y6m, 12h")
    days = {"y": 365, "m": 30, "w": 7, "d": 1}
    total = dt.timedelta()
    for number, unit in parts:
        total += dt.timedelta(hours=int(number)) if unit == "h" else dt.timedelta(days=int(number) * days[unit])
    return total


def apply(policy: Policy, snapshots: Sequence[tuple[str, Snapshot]], now: dt.datetime | None = None) -> dict[str, list[str]]:
    """Reasons to keep, per snapshot ID; snapshots absent from the result are to be removed."""
    if policy.empty():
        raise UsageError("no keep rule given; refusing to forget every snapshot")
    newest_first = sorted(snapshots, key=lambda item: item[1].time, reverse=True)
    reasons: dict[str, list[str]] = {}
    for position, (name, snapshot) in enumerate(newest_first):
        if position < policy.last:
            reasons.setdefault(name, []).append("last")
        if set(policy.keep_tags) & set(snapshot.tags):
            reasons.setdefault(name, []).append("tag")
    if policy.within and newest_first:
        # Relative to the newest snapshot, so a paused schedule never loses everything.
        cutoff = (now or newest_first[0][1].time) - parse_duration(policy.within)
        for name, snapshot in newest_first:
            if snapshot.time >= cutoff:
                reasons.setdefault(name, []).append("within")
    for rule, bucket_of in _BUCKETS.items():
        wanted, last_bucket = getattr(policy, rule), None
        for name, snapshot in newest_first:
            if wanted <= 0:
                break
            bucket = bucket_of(snapshot.time)
            if bucket != last_bucket:
                reasons.setdefault(name, []).append(rule)
                last_bucket, wanted = bucket, wanted - 1
    return reasons
