"""Re-owning restored files between OpenShift ID ranges: the pure rules, then a real mover pod."""

from __future__ import annotations

import os

import pytest
from kubernetes.client import ApiClient

from mlark.restore.ownership import reown_shifts
from mlark.restore.steps import ReownVolume
from mlark.volumedata import transfer
from mlark.volumedata.ownership import Census, IdRange, Shift, reown_command
from tests.volumedata.test_transfer import _claim

SOURCE, TARGET = "1000740000/10000", "1000900000/10000"


def test_ranges_parse_in_both_forms_and_refuse_nonsense() -> None:
    assert IdRange.parse("1000740000/10000") == IdRange(start=1000740000, size=10000)
    assert IdRange.parse("1000740000-1000749999") == IdRange(start=1000740000, size=10000)
    for bad in ("", "abc", "5/0", "1000/-3", "7"):
        with pytest.raises(ValueError, match="not an ID range"):
            IdRange.parse(bad)


def test_ids_of_the_source_range_move_to_the_same_offset_and_others_stay() -> None:
    shift = Shift(source=IdRange.parse(SOURCE), target=IdRange.parse(TARGET))
    present = {0, 1001, 1000740000, 1000740005, 1000749999, 1000750000}
    assert shift.mapping(present) == {1000740000: 1000900000, 1000740005: 1000900005, 1000749999: 1000909999}
    smaller = Shift(source=IdRange.parse(SOURCE), target=IdRange(start=2000, size=3))
    assert smaller.mapping(present) == {1000740000: 2000}  # offset 5 does not fit a range of 3


def test_the_step_takes_open_targets_from_the_namespace() -> None:
    step = ReownVolume(namespace="drill", claim="data", from_uid_range=SOURCE, to_uid_range=None, from_groups=SOURCE)
    uids, gids = reown_shifts(step, {"openshift.io/sa.scc.uid-range": TARGET, "openshift.io/sa.scc.supplemental-groups": TARGET})
    assert uids and str(uids.target) == TARGET and gids and str(gids.target) == TARGET
    assert reown_shifts(step, {}) == (None, None)


def test_census_and_command() -> None:
    census = Census.parse("      3 1000740000 0\n      1 0 0\n     2 1000740001 1000740000\ngarbage\n")
    assert census.uids() == {0, 1000740000, 1000740001} and census.gids() == {0, 1000740000}
    assert census.files_moved({1000740000: 1}, {}) == 3
    assert census.files_moved({1000740000: 1}, {1000740000: 2}) == 5
    command = reown_command({5: 7}, {})
    assert command == ["find", ".", "-xdev", "(", "(", "-uid", "5", "-exec", "chown", "-h", "7", "{}", "+", ")", "-o", "-true", ")"]


@pytest.mark.cluster
def test_a_mover_reowns_the_files_of_a_volume(kube_primary: ApiClient, fresh_namespace: str) -> None:
    root = _claim(kube_primary, fresh_namespace, "workbench")
    (root / "notebooks").mkdir()
    owners = {"notebooks": (1000740000, 1000740000), "notebooks/a.ipynb": (1000740000, 0),
              "model.bin": (1000740007, 1000740000), "system.conf": (0, 0), "link": (1000740000, 0)}
    for name in ("notebooks/a.ipynb", "model.bin", "system.conf"):
        (root / name).write_bytes(os.urandom(100))
    os.symlink("model.bin", root / "link")
    for name, (uid, gid) in owners.items():
        os.lchown(root / name, uid, gid)

    shift = Shift(source=IdRange.parse(SOURCE), target=IdRange.parse(TARGET))
    moved = transfer.reown(kube_primary, fresh_namespace, "workbench", shift, shift)
    assert moved.uids == {1000740000: 1000900000, 1000740007: 1000900007} and moved.gids == {1000740000: 1000900000}
    assert moved.files == 4

    def owner(name: str) -> tuple[int, int]:
        stat = os.lstat(root / name)
        return stat.st_uid, stat.st_gid

    assert owner("notebooks") == (1000900000, 1000900000)
    assert owner("notebooks/a.ipynb") == (1000900000, 0)
    assert owner("model.bin") == (1000900007, 1000900000)
    assert owner("link") == (1000900000, 0)  # the link itself, not what it points to
    assert owner("system.conf") == (0, 0)
    assert owner(".") == (0, 0)
