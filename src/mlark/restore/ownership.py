"""Which ID shifts a ReownVolume step applies (pure): the step's ranges, or, where the plan left
the target open (OpenShift assigns it), the ranges the target namespace carries now."""

from __future__ import annotations

from mlark.restore.facts import SCC_GROUPS, SCC_UID_RANGE
from mlark.restore.steps import ReownVolume
from mlark.volumedata.ownership import IdRange, Shift


def reown_shifts(step: ReownVolume, annotations: dict[str, str]) -> tuple[Shift | None, Shift | None]:
    """(UID shift, GID shift); None where the source or the target range is unknown."""
    uids = _shift(step.from_uid_range, step.to_uid_range or annotations.get(SCC_UID_RANGE))
    gids = _shift(step.from_groups, step.to_groups or annotations.get(SCC_GROUPS))
    return uids, gids


def _shift(source: str | None, target: str | None) -> Shift | None:
    if not source or not target:
        return None
    return Shift(source=IdRange.parse(source), target=IdRange.parse(target))


def describe_reown(uids: Shift | None, gids: Shift | None, files: int) -> str:
    """'UIDs a/n -> b/n, GIDs ...: N files re-owned', as the restore result reports it."""
    ranges = [f"{name} {shift.source} -> {shift.target}" for name, shift in (("UIDs", uids), ("GIDs", gids)) if shift]
    return f"{', '.join(ranges)}: {files} file{'' if files == 1 else 's'} re-owned"
