"""One bad input must not stop every backup (issue 11, defect 2): file names and symlink targets
that are not UTF-8 round-trip byte-exactly, and one damaged snapshot file is reported and
skipped by every command that lists snapshots; `forget SNAPSHOT_ID` removes it."""

from __future__ import annotations

import json
import os
from pathlib import Path

from mlark.repo.backup import backup
from mlark.repo.models import Tree
from mlark.repo.repository import Repository
from mlark.repo.restorer import restore
from tests.repo.conftest import cli, cli_json, make_repo, reopen


def _odd_tree(root: Path) -> bytes:
    """A tree whose names and link targets are Latin-1 and broken bytes, as old file systems hold them."""
    base = os.fsencode(root)
    os.makedirs(base + b"/caf\xe9-dir")
    with open(base + b"/caf\xe9-dir/r\xe9sum\xe9.txt", "wb") as handle:
        handle.write(b"latin-1 name\n")
    with open(base + b"/\xff\xfe-broken", "wb") as handle:
        handle.write(os.urandom(100_000))
    with open(base + b"/plain.txt", "wb") as handle:
        handle.write(b"plain\n")
    os.symlink(b"caf\xe9-dir/r\xe9sum\xe9.txt", base + b"/link-\xe9")
    os.symlink(b"/no/such/\x80\x81", base + b"/dangling")
    return base


def _listing(root: bytes) -> dict[bytes, tuple[str, bytes]]:
    """Every entry below root by its raw name: kind and content or raw link target."""
    found: dict[bytes, tuple[str, bytes]] = {}
    for top, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(top, name)
            rel = os.path.relpath(path, root)
            if os.path.islink(path):
                found[rel] = ("link", os.readlink(path))
            elif os.path.isdir(path):
                found[rel] = ("dir", b"")
            else:
                with open(path, "rb") as handle:
                    found[rel] = ("file", handle.read())
    return found


def test_non_utf8_names_and_link_targets_round_trip_byte_exactly(repo: Repository, tmp_path: Path) -> None:
    src = os.fsdecode(os.fsencode(tmp_path) + b"/odd-\xe9")  # the path backed up is not UTF-8 either
    os.mkdir(src)
    base = _odd_tree(Path(src))
    first = backup(repo, [src])
    assert first.warnings == [] and first.files_new == 3
    out = os.fsencode(tmp_path / "out")
    summary = restore(reopen(repo), first.snapshot_id, os.fsdecode(out))
    assert summary.damaged == []
    assert os.listdir(out) == [b"odd-\xe9"]
    assert _listing(out + b"/odd-\xe9") == _listing(base)
    # A subtree by its raw name, as a shell passes it.
    part = restore(reopen(repo), first.snapshot_id, os.fsdecode(out + b"-part"), path=os.fsdecode(b"odd-\xe9/caf\xe9-dir"))
    assert part.files == 1 and os.listdir(out + b"-part") == [b"caf\xe9-dir"]
    # The raw names are what the parent lookup matches on: nothing is read again.
    second = backup(reopen(repo), [src])
    assert second.files_unchanged == 3 and second.bytes_read == 0


def test_non_utf8_names_through_the_cli(repo_path: Path, tmp_path: Path) -> None:
    src = tmp_path / "odd"
    src.mkdir()
    _odd_tree(src)
    made = cli("backup", "--repo", str(repo_path), str(src), "-o", "json")
    assert made.returncode == 0, made.stderr.decode()
    listed = cli_json("ls", "--repo", str(repo_path), "latest")
    paths = {row["path"] for row in listed}
    # Shown readably (the bytes escaped), never as a traceback or replacement characters only.
    assert "odd/caf\\xe9-dir/r\\xe9sum\\xe9.txt" in paths and "odd/\\xff\\xfe-broken" in paths
    content = cli("cat", "--repo", str(repo_path), "latest", os.fsdecode(b"odd/caf\xe9-dir/r\xe9sum\xe9.txt"))
    assert content.returncode == 0 and content.stdout == b"latin-1 name\n"


def test_utf8_trees_are_stored_as_before(repo: Repository, tmp_path: Path) -> None:
    """Trees of valid UTF-8 names carry no new field, so trees written before still deduplicate
    and earlier readers still read them; only names that need it carry their raw bytes."""
    src = tmp_path / "plain"
    src.mkdir()
    (src / "a.txt").write_text("a")
    os.symlink("a.txt", src / "l")
    summary = backup(repo, [str(src)])
    root = repo.load_tree(reopen(repo).load_snapshot(summary.snapshot_id).tree)
    inner = json.loads(repo.load_blob(root.nodes[0].subtree or ""))
    for node in inner["nodes"]:
        assert set(node) <= {"name", "type", "mode", "uid", "gid", "mtime_ns", "size", "inode", "content", "subtree", "target"}
    # A tree as the first format version wrote it still reads.
    old = Tree.model_validate_json(b'{"nodes":[{"name":"x","type":"symlink","mode":511,"target":"y"},'
                                   b'{"name":"f","type":"file","mode":420,"size":1,"content":["00"]}]}')
    assert old.nodes[0].fs_name() == "x" and old.nodes[0].fs_target() == "y"


def _two_snapshots(repo_path: Path, tmp_path: Path) -> tuple[str, str]:
    src = tmp_path / "data"
    src.mkdir()
    (src / "a.bin").write_bytes(os.urandom(300_000))
    first = cli_json("backup", "--repo", str(repo_path), str(src))["snapshot_id"]
    (src / "b.bin").write_bytes(os.urandom(300_000))
    second = cli_json("backup", "--repo", str(repo_path), str(src))["snapshot_id"]
    return first, second


def _damage(repo_path: Path, snapshot_id: str) -> None:
    path = repo_path / "snapshots" / snapshot_id
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x40
    path.write_bytes(bytes(data))


def test_one_damaged_snapshot_is_reported_and_skipped_everywhere(repo_path: Path, tmp_path: Path) -> None:
    good, bad = _two_snapshots(repo_path, tmp_path)
    _damage(repo_path, bad)
    repo = str(repo_path)

    listed = cli("snapshots", "--repo", repo, "-o", "json")
    assert listed.returncode == 0, listed.stderr.decode()
    assert [s["id"] for s in json.loads(listed.stdout)] == [good]
    assert bad[:8] in listed.stderr.decode() and "skipped" in listed.stderr.decode()

    for parent in ([], ["--parent", "none"]):
        made = cli("backup", "--repo", repo, str(tmp_path / "data"), *parent, "-o", "json")
        assert made.returncode == 0, made.stderr.decode()
        assert any(bad[:8] in warning for warning in json.loads(made.stdout)["warnings"]) or parent

    stats = cli("stats", "--repo", repo, "-o", "json")
    assert stats.returncode == 0, stats.stderr.decode()
    assert json.loads(stats.stdout)["snapshots"] == 3 and bad[:8] in stats.stderr.decode()

    forgot = cli("forget", "--repo", repo, "--keep-last", "2", "-o", "json")
    assert forgot.returncode == 0, forgot.stderr.decode()
    assert bad not in json.loads(forgot.stdout)["remove"]  # not removed by a policy it could not be judged by
    assert (repo_path / "snapshots" / bad).exists()

    pruned = cli("prune", "--repo", repo, "-o", "json")
    assert pruned.returncode == 0, pruned.stderr.decode()
    assert bad[:8] in pruned.stderr.decode()

    checked = cli("check", "--repo", repo)
    assert checked.returncode == 3 and bad[:16] in checked.stderr.decode()

    removed = cli("forget", "--repo", repo, bad[:10], "-o", "json")
    assert removed.returncode == 0, removed.stderr.decode()
    assert json.loads(removed.stdout)["remove"] == [bad]
    assert not (repo_path / "snapshots" / bad).exists()
    assert cli_json("check", "--repo", repo, "--read-data")["ok"] is True


def test_forget_by_id_needs_a_unique_match_and_no_policy(repo_path: Path, tmp_path: Path) -> None:
    first, second = _two_snapshots(repo_path, tmp_path)
    repo = str(repo_path)
    missing = cli("forget", "--repo", repo, "zzzz")
    assert missing.returncode == 4 and "zzzz" in missing.stderr.decode()
    both = cli("forget", "--repo", repo, first[:8], "--keep-last", "1")
    assert both.returncode == 2 and "Traceback" not in both.stderr.decode()
    dry = cli_json("forget", "--repo", repo, first, "--dry-run")
    assert dry["remove"] == [first] and (repo_path / "snapshots" / first).exists()
    done = cli_json("forget", "--repo", repo, first[:12], second[:12])
    assert sorted(done["remove"]) == sorted([first, second])
    assert cli_json("snapshots", "--repo", repo) == []


def test_engine_skips_a_damaged_snapshot_when_finding_the_parent(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    src = tmp_path / "data"
    src.mkdir()
    (src / "a.bin").write_bytes(os.urandom(200_000))
    first = backup(repo, [str(src)]).snapshot_id
    second = backup(reopen(repo), [src]).snapshot_id
    _damage(tmp_path / "repo", second)
    third = backup(reopen(repo), [str(src)])
    assert third.parent == first and third.files_unchanged == 1
    assert any(second[:8] in warning for warning in third.warnings)


def test_prune_never_treats_a_newer_snapshot_as_damage(repo_path: Path, tmp_path: Path) -> None:
    """Skipping is for damage only: a snapshot a newer mlark wrote may use data, so prune stops."""
    from mlark.repo.backend import LocalBackend
    from mlark.repo.backend.base import Kind
    from mlark.repo.crypto import storage_id
    from mlark.repo.repository import SNAPSHOT_AAD
    from tests.repo.conftest import PASSWORD

    _two_snapshots(repo_path, tmp_path)
    repo = Repository.open(LocalBackend(repo_path), PASSWORD)
    _, current = repo.snapshots()[-1]
    newer = json.loads(current.model_dump_json())
    newer.update(version=2, retention_class="gold")  # a field this version does not know
    sealed = repo.sealer.seal(json.dumps(newer).encode(), SNAPSHOT_AAD)
    repo.backend.save(Kind.snapshots, storage_id(sealed), sealed)
    pruned = cli("prune", "--repo", str(repo_path))
    assert pruned.returncode == 11 and "newer" in pruned.stderr.decode()
