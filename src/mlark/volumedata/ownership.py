"""Re-owning restored files from one OpenShift UID/GID range to another (pure).

OpenShift gives every namespace its own ranges (`openshift.io/sa.scc.uid-range` and
`...supplemental-groups`, "start/size"), and its pods run with IDs from them. Files restored
into a namespace with other ranges would belong to IDs its pods do not have; each ID of the
source range is moved to the same offset in the target range. IDs outside the source range
(root, a fixed UID of an image) are left alone.
"""

from __future__ import annotations

from pydantic import BaseModel

# Lists "uid gid" for every file: the IDs present and how many files have them.
PROBE_COMMAND = ["sh", "-c", "find . -xdev -printf '%U %G\\n' | sort | uniq -c"]


class IdRange(BaseModel):
    start: int
    size: int

    @classmethod
    def parse(cls, text: str) -> IdRange:
        """OpenShift's "start/size" (also "start-end", which some clusters use for groups)."""
        try:
            if "/" in text:
                start, size = (int(part) for part in text.split("/", 1))
            else:
                first, last = (int(part) for part in text.split("-", 1))
                start, size = first, last - first + 1
        except ValueError:
            raise ValueError(f"{text!r} is not an ID range (start/size)") from None
        if start < 0 or size <= 0:
            raise ValueError(f"{text!r} is not an ID range (start/size)")
        return cls(start=start, size=size)

    def __str__(self) -> str:
        return f"{self.start}/{self.size}"


class Shift(BaseModel):
    """IDs of `source` move to the same offset in `target`."""

    source: IdRange
    target: IdRange

    def mapping(self, present: set[int]) -> dict[int, int]:
        """Old ID -> new ID for the present IDs inside the source range that fit the target."""
        moved = {}
        for old in sorted(present):
            offset = old - self.source.start
            if 0 <= offset < min(self.source.size, self.target.size) and self.source.start != self.target.start:
                moved[old] = self.target.start + offset
        return moved


class Census(BaseModel):
    """Files per (uid, gid) pair, as the probe counted them."""

    counts: dict[tuple[int, int], int] = {}

    @classmethod
    def parse(cls, output: str) -> Census:
        counts: dict[tuple[int, int], int] = {}
        for line in output.splitlines():
            fields = line.split()
            if len(fields) == 3 and all(field.isdigit() for field in fields):
                counts[(int(fields[1]), int(fields[2]))] = int(fields[0])
        return cls(counts=counts)

    def uids(self) -> set[int]:
        return {uid for uid, _ in self.counts}

    def gids(self) -> set[int]:
        return {gid for _, gid in self.counts}

    def files_moved(self, uids: dict[int, int], gids: dict[int, int]) -> int:
        return sum(count for (uid, gid), count in self.counts.items() if uid in uids or gid in gids)


def reown_command(uids: dict[int, int], gids: dict[int, int]) -> list[str]:
    """One `find` pass that re-owns each file once, judged by the IDs it had when visited: a
    target range overlapping the source range cannot shift a file twice."""
    command = ["find", ".", "-xdev"]
    for flag, tool, mapping in (("-uid", "chown", uids), ("-gid", "chgrp", gids)):
        if not mapping:
            continue
        command.append("(")
        for old, new in mapping.items():
            command += ["(", flag, str(old), "-exec", tool, "-h", str(new), "{}", "+", ")", "-o"]
        command += ["-true", ")"]
    return command
