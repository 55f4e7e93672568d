"""Streams that record what they carried: bytes, time, and failure instead of an exception.

The repository consumes every stream of a restore point in one pass. A failing capture
must not abort the others: its stream ends early and its item is marked failed, so the
restore point is PartiallyFailed and the restore never trusts that stream.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from mlark.restorepoint.models import ItemResult


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass
class Recorder:
    """Shared by every stream of one backup: results, and the consistency window."""

    results: list[ItemResult] = field(default_factory=list)
    first_capture: dt.datetime | None = None
    last_capture: dt.datetime | None = None
    post_hooks_done: bool = False

    def recorded(
        self,
        item: str,
        produce: Callable[[], Iterable[bytes]],
        on_done: Callable[[int, dt.datetime], None],
    ) -> Iterator[bytes]:
        """Yield produce()'s chunks; call on_done(bytes, started) if it finished, else record a failure."""
        started = now()
        self.first_capture = self.first_capture or started
        total = 0
        try:
            for chunk in produce():
                total += len(chunk)
                yield chunk
        except Exception as error:  # one failed item must not fail the whole restore point
            self.results.append(ItemResult(item=item, status="failed", message=str(error)))
            return
        finally:
            self.last_capture = now()
        on_done(total, started)
        self.results.append(ItemResult(item=item, status="ok", message=f"{total} bytes"))
