"""The benchmark's data set generator: deterministic, the requested size, the stated change fractions."""

from pathlib import Path

import pytest
import zstandard

from bench.repo import dataset

SIZE = 6 << 20
BLOCK = 4096


def _contents(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    base = tmp_path_factory.mktemp("dataset")
    first = dataset.generate(base / "a", SIZE, seed=7, small_files=60)
    second = dataset.generate(base / "b", SIZE, seed=7, small_files=60)
    return base / "a", base / "b", first, second


def test_same_seed_same_bytes(pair, tmp_path):
    a, b, first, second = pair
    assert _contents(a) == _contents(b)
    assert first.total_bytes == second.total_bytes
    other = dataset.generate(tmp_path / "c", SIZE, seed=8, small_files=60)
    assert _contents(tmp_path / "c") != _contents(a)
    assert other.files == first.files


def test_requested_size_and_parts(pair):
    a, _, manifest, _ = pair
    total, files = dataset.tree_bytes(a)
    assert total == manifest.total_bytes
    assert abs(total - SIZE) / SIZE < 0.03
    assert len(list((a / "projects").rglob("*.ipynb"))) + len(list((a / "projects").rglob("*.yaml"))) == 60
    assert (a / "checkpoints/base/model.safetensors").is_file()
    assert list((a / "data/features").glob("*.parquet"))
    assert files == 60 + 2 + len(list((a / "data/features").glob("*.parquet"))) + 1  # + marker


def test_default_small_file_count_scales_to_20000_at_2_gib():
    assert dataset.SMALL_FILES_AT_DEFAULT == 20_000
    assert dataset.DEFAULT_SIZE == 2 << 30


def test_finetuned_copy_differs_in_ten_percent_of_tensor_bytes(pair):
    a, _, manifest, _ = pair
    base = a / "checkpoints/base/model.safetensors"
    tuned = a / "checkpoints/finetuned/model.safetensors"
    spans = dataset.read_safetensors_spans(base)
    assert spans == dataset.read_safetensors_spans(tuned)
    base_bytes, tuned_bytes = base.read_bytes(), tuned.read_bytes()
    changed = sum(end - start for start, end, _ in spans.values() if base_bytes[start:end] != tuned_bytes[start:end])
    total = sum(end - start for start, end, _ in spans.values())
    assert changed == manifest.finetuned_changed_bytes
    assert 0.085 <= changed / total <= 0.115
    differing = sum(x != y for x, y in zip(base_bytes, tuned_bytes))
    assert differing > 0.8 * changed  # a changed tensor really changed throughout (top bytes often agree)


def test_float_tensors_compress_like_weights_not_like_random(pair):
    a, _, _, _ = pair
    data = (a / "checkpoints/base/model.safetensors").read_bytes()[: 2 << 20]
    ratio = len(zstandard.ZstdCompressor(level=3).compress(data)) / len(data)
    assert 0.6 < ratio < 0.95


def test_mutation_changes_two_percent_deterministically(tmp_path):
    roots = []
    for name in ("x", "y"):
        dataset.generate(tmp_path / name, SIZE, seed=11, small_files=300)
        roots.append(tmp_path / name)
    before = _contents(roots[0])
    total = sum(len(v) for v in before.values())
    report = dataset.mutate(roots[0], seed=11)
    dataset.mutate(roots[1], seed=11)
    after = _contents(roots[0])
    assert after == _contents(roots[1])
    changed = 0
    for path, data in after.items():
        old = before.get(path, b"")
        for offset in range(0, len(data), BLOCK):
            if data[offset : offset + BLOCK] != old[offset : offset + BLOCK]:
                changed += len(data[offset : offset + BLOCK])
    assert 0.017 <= changed / total <= 0.03
    assert abs(report.changed_bytes / total - 0.02) < 0.002
    assert report.new_files and report.modified_files and report.rewritten_tensors


def test_parse_size():
    assert dataset.parse_size("256M") == 256 << 20
    assert dataset.parse_size("2G") == 2 << 30
    assert dataset.parse_size("2GiB") == 2 << 30
    assert dataset.parse_size("1024") == 1024
    with pytest.raises(ValueError):
        dataset.parse_size("lots")
