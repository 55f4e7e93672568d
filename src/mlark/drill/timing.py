"""Where the time of a drill went (pure): the restore's phases grouped as an auditor reads them."""

from __future__ import annotations

from mlark.audit import PhaseSeconds
from mlark.restore.summary import RestoreResult

VOLUME_PHASES = {"volumes"}
DATABASE_PHASES = {"databases", "operator-data"}


def restore_phases(result: RestoreResult, readiness: float, verification: float) -> PhaseSeconds:
    seconds = {"objects": 0.0, "volume_data": 0.0, "databases": 0.0}
    for phase in result.phases:
        name = phase.name.value
        key = "volume_data" if name in VOLUME_PHASES else "databases" if name in DATABASE_PHASES else "objects"
        seconds[key] += phase.seconds
    return PhaseSeconds(**{key: round(value, 3) for key, value in seconds.items()},
                        readiness=round(readiness, 3), verification=round(verification, 3))
