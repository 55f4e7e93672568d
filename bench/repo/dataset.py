"""Deterministic ML-like data set for the repository benchmark.

Layout of a generated data set (``root/``)::

    .bench-root                            marker, lets a driver find a restored tree
    checkpoints/base/model.safetensors     bf16 weights (fp32 norms), normally distributed
    checkpoints/finetuned/model.safetensors  same shapes, 10% of the tensor bytes differ
    data/features/part-NNNNN.parquet       parquet-like column files (ids, timestamps,
                                            dictionary codes, float32 features)
    projects/team-NN/<user>/...            small files: notebooks (.ipynb JSON) and
                                            configs (YAML), 20,000 of them at 2 GiB

Everything derives from one seed: the random bytes come from BLAKE3 in XOF mode keyed by
names (stable across machines and Python versions), choices from ``random.Random(seed)``.

Float tensors are made without numpy: each value takes its low bytes (mantissa) from the
random stream and its top byte (sign and high exponent bits) from a 256-entry table built
from the normal distribution's exponent histogram, so the bytes compress like real weights
(poorly, but not like random data).

``mutate`` applies the incremental-backup change: about ``fraction`` (2%) of the data set's
bytes are rewritten or added (tensors of the fine-tuned checkpoint rewritten in place, a new
parquet partition, edited and new notebooks and configs).

Command line: ``python -m bench.repo.dataset DIR --size 256M [--seed N] [--mutate]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import struct
import sys
import time
from array import array
from dataclasses import dataclass, field
from pathlib import Path

import blake3

MARKER = ".bench-root"
DEFAULT_SIZE = 2 << 30
DEFAULT_SEED = 20261125
SMALL_FILES_AT_DEFAULT = 20_000
FINETUNE_FRACTION = 0.10
MUTATE_FRACTION = 0.02
_PIECE = 16 << 20  # generation granularity, bounds memory

_SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_size(text: str) -> int:
    """'256M', '2G', '2GiB', '1500000' -> bytes (binary units)."""
    value = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = value[-1:] if value[-1:] in _SIZE_UNITS and not value[-1:].isdigit() else ""
    number = value[: len(value) - len(unit)] if unit else value
    try:
        result = int(float(number) * _SIZE_UNITS[unit])
    except ValueError:
        raise ValueError(f"not a size: {text!r} (examples: 256M, 2G, 1048576)") from None
    if result <= 0:
        raise ValueError(f"size must be positive: {text!r}")
    return result


# --------------------------------------------------------------------------- random bytes


def random_bytes(seed: int, name: str, length: int, offset: int = 0) -> bytes:
    """``length`` pseudo-random bytes of the stream named ``name``, from ``offset`` on."""
    return blake3.blake3(f"mlark-bench:{seed}:{name}".encode()).digest(length=length, seek=offset)


def _exponent_table(sigma: float) -> bytes:
    """Map a uniform byte to a float32 top byte (sign bit + exponent bits 7..1) of N(0, sigma).

    The low bit of the 7 table bits picks nothing: the 128 slots are quantiles of the
    half-normal distribution of the biased exponent; bit 7 of the input is the sign.
    The exponent's lowest bit lives in the next byte, which stays random.
    """
    scale = sigma * math.sqrt(2.0)
    # probability of each biased exponent pair (e>>1) under |x| ~ half-normal(sigma)
    pairs: list[tuple[int, float]] = []
    for high in range(1, 127):  # e>>1; covers 2**-252 .. 2**126
        low_edge = 2.0 ** (2 * high - 127)
        high_edge = 2.0 ** (2 * high + 2 - 127)
        p = math.erf(high_edge / scale) - math.erf(low_edge / scale)
        if p > 0:
            pairs.append((high, p))
    total = sum(p for _, p in pairs)
    table = bytearray(256)
    cumulative = 0.0
    index = 0
    for slot in range(128):
        quantile = (slot + 0.5) / 128
        while index < len(pairs) - 1 and cumulative + pairs[index][1] / total < quantile:
            cumulative += pairs[index][1] / total
            index += 1
        high = pairs[index][0]
        table[slot] = high  # positive
        table[slot + 128] = 0x80 | high  # negative
    return bytes(table)


_TABLES: dict[float, bytes] = {}


def float_bytes(seed: int, name: str, count: int, dtype: str, sigma: float, offset: int = 0) -> bytes:
    """``count`` values of a normally distributed tensor as little-endian F32 or BF16 bytes.

    ``offset`` is in values, so a tensor can be made piece by piece.
    """
    width = {"F32": 4, "BF16": 2}[dtype]
    table = _TABLES.get(sigma)
    if table is None:
        table = _TABLES[sigma] = _exponent_table(sigma)
    raw = bytearray(random_bytes(seed, name, count * width, offset * width))
    raw[width - 1 :: width] = raw[width - 1 :: width].translate(table)
    return bytes(raw)


# --------------------------------------------------------------------------- safetensors


@dataclass
class Tensor:
    name: str
    dtype: str
    shape: tuple[int, ...]
    sigma: float

    @property
    def count(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.count * {"F32": 4, "BF16": 2}[self.dtype]


def model_tensors(budget: int) -> list[Tensor]:
    """A decoder-only transformer whose bf16 weights take about ``budget`` bytes."""
    chosen: tuple[int, int, int] | None = None
    for hidden in (64, 128, 256, 512, 1024, 2048):
        inter = hidden * 11 // 4
        vocab = hidden * 8
        per_layer = 2 * (4 * hidden * hidden + 3 * hidden * inter) + 2 * 4 * hidden
        fixed = 2 * 2 * vocab * hidden + 4 * hidden
        layers = (budget - fixed) // per_layer
        if layers >= 16 or chosen is None:
            chosen = (hidden, inter, max(1, layers))
    assert chosen is not None
    hidden, inter, layers = chosen
    vocab = hidden * 8
    tensors = [Tensor("model.embed_tokens.weight", "BF16", (vocab, hidden), 0.02)]
    for layer in range(layers):
        prefix = f"model.layers.{layer}"
        tensors.append(Tensor(f"{prefix}.input_layernorm.weight", "F32", (hidden,), 0.1))
        for proj in ("q_proj", "k_proj", "v_proj", "o_proj"):
            tensors.append(Tensor(f"{prefix}.self_attn.{proj}.weight", "BF16", (hidden, hidden), 0.02))
        tensors.append(Tensor(f"{prefix}.post_attention_layernorm.weight", "F32", (hidden,), 0.1))
        tensors.append(Tensor(f"{prefix}.mlp.gate_proj.weight", "BF16", (inter, hidden), 0.02))
        tensors.append(Tensor(f"{prefix}.mlp.up_proj.weight", "BF16", (inter, hidden), 0.02))
        tensors.append(Tensor(f"{prefix}.mlp.down_proj.weight", "BF16", (hidden, inter), 0.02))
    tensors.append(Tensor("model.norm.weight", "F32", (hidden,), 0.1))
    tensors.append(Tensor("lm_head.weight", "BF16", (vocab, hidden), 0.02))
    return tensors


def safetensors_header(tensors: list[Tensor], metadata: dict[str, str]) -> tuple[bytes, list[tuple[int, int]]]:
    """The 8-byte length + JSON header, and each tensor's (start, end) in the file."""
    entries: dict[str, object] = {"__metadata__": metadata}
    offset = 0
    for tensor in tensors:
        entries[tensor.name] = {
            "dtype": tensor.dtype,
            "shape": list(tensor.shape),
            "data_offsets": [offset, offset + tensor.nbytes],
        }
        offset += tensor.nbytes
    text = json.dumps(entries, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the format pads the header to 8 bytes
    base = 8 + len(text)
    spans = []
    for tensor in tensors:
        entry = entries[tensor.name]
        assert isinstance(entry, dict)
        start, end = entry["data_offsets"]
        spans.append((base + start, base + end))
    return struct.pack("<Q", len(text)) + text, spans


def read_safetensors_spans(path: Path) -> dict[str, tuple[int, int, str]]:
    """tensor name -> (file start, file end, dtype) read from a safetensors header."""
    with path.open("rb") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(length))
    spans = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        start, end = entry["data_offsets"]
        spans[name] = (8 + length + start, 8 + length + end, entry["dtype"])
    return spans


def _write_tensor(handle, seed: int, stream: str, tensor: Tensor, first: int = 0, last: int | None = None) -> None:
    """Write values [first, last) of ``tensor`` drawn from stream ``stream`` at the current position."""
    last = tensor.count if last is None else last
    width = tensor.nbytes // tensor.count
    step = max(1, _PIECE // width)
    for start in range(first, last, step):
        count = min(step, last - start)
        handle.write(float_bytes(seed, stream, count, tensor.dtype, tensor.sigma, offset=start))


def write_checkpoint(path: Path, seed: int, tensors: list[Tensor], variant_of: dict[str, str]) -> None:
    """``variant_of`` maps a tensor name to the stream variant it is drawn from ('base' if absent)."""
    header, _ = safetensors_header(tensors, {"format": "pt", "generator": "mlark-bench"})
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        handle.write(header)
        for tensor in tensors:
            variant = variant_of.get(tensor.name, "base")
            _write_tensor(handle, seed, f"tensor:{variant}:{tensor.name}", tensor)


def pick_tensors(tensors: list[Tensor], fraction: float, rng: random.Random) -> list[str]:
    """Names of tensors (large ones only) whose bytes add up to about ``fraction`` of the total."""
    total = sum(t.nbytes for t in tensors)
    goal = fraction * total
    candidates = [t for t in tensors if t.dtype == "BF16"]
    rng.shuffle(candidates)
    picked, size = [], 0
    for tensor in candidates:
        if size >= goal:
            break
        if size + tensor.nbytes <= goal * 1.02 or not picked and tensor.nbytes <= goal * 1.5:
            picked.append(tensor.name)
            size += tensor.nbytes
    return picked


# --------------------------------------------------------------------------- parquet-like files

_PARQUET_FEATURES = 8
_PARQUET_ROW_BYTES = 8 + 8 + 1 + 2 + 4 * _PARQUET_FEATURES
_PARQUET_FILE_BYTES = 32 << 20
_ROW_GROUP = 1 << 18


def _dictionary(seed: int) -> list[str]:
    rng = random.Random(seed ^ 0x51C7)
    words = ["red", "blue", "large", "small", "organic", "premium", "basic", "pro", "max", "mini",
             "wireless", "smart", "classic", "eco", "ultra", "home", "sport", "kids", "travel", "office"]
    items = ["chair", "lamp", "phone", "shoe", "jacket", "bottle", "camera", "desk", "bag", "watch"]
    return [f"{rng.choice(words)} {rng.choice(words)} {rng.choice(items)} {i}" for i in range(1000)]


def write_parquet_like(path: Path, seed: int, name: str, rows: int, first_id: int) -> None:
    """A columnar file: PAR1, row groups of column chunks, JSON footer, footer length, PAR1."""
    codes_table = bytes(b % 16 for b in range(256))
    dictionary = json.dumps(_dictionary(seed)).encode()
    footer: dict[str, object] = {"schema": ["id:int64", "event_time:int64", "category:dict8", "item:dict16"]
                                 + [f"f{i}:float32" for i in range(_PARQUET_FEATURES)],
                                 "row_groups": [], "dictionary_offset": 0}
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        handle.write(b"PAR1")
        footer["dictionary_offset"] = handle.tell()
        handle.write(dictionary)
        for group_start in range(0, rows, _ROW_GROUP):
            count = min(_ROW_GROUP, rows - group_start)
            first = first_id + group_start
            columns = []
            chunks = [
                array("q", range(first, first + count)).tobytes(),
                array("q", range(1_760_000_000_000 + first * 250, 1_760_000_000_000 + (first + count) * 250, 250)).tobytes(),
                random_bytes(seed, f"parquet:{name}:category", count, group_start).translate(codes_table),
                random_bytes(seed, f"parquet:{name}:item", 2 * count, 2 * group_start),
            ]
            for feature in range(_PARQUET_FEATURES):
                chunks.append(float_bytes(seed, f"parquet:{name}:f{feature}", count, "F32", 1.0, offset=group_start))
            for chunk in chunks:
                columns.append([handle.tell(), len(chunk)])
                handle.write(chunk)
            footer["row_groups"].append({"rows": count, "columns": columns})  # type: ignore[union-attr]
        blob = json.dumps(footer, separators=(",", ":")).encode()
        handle.write(blob)
        handle.write(struct.pack("<I", len(blob)))
        handle.write(b"PAR1")


def parquet_rows_for(nbytes: int) -> int:
    return max(1, nbytes // _PARQUET_ROW_BYTES)


# --------------------------------------------------------------------------- small files

_CODE_LINES = [
    "import pandas as pd", "import numpy as np", "import torch", "from sklearn.model_selection import train_test_split",
    "df = pd.read_parquet('s3://{bucket}/{table}/')", "df = df.dropna(subset=['{col}'])",
    "X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state={n})",
    "model = AutoModelForCausalLM.from_pretrained('{bucket}/{table}')", "optimizer = torch.optim.AdamW(model.parameters(), lr={lr})",
    "for epoch in range({n}):", "    loss = criterion(model(batch), target)", "    loss.backward()", "    optimizer.step()",
    "print(f'epoch {{epoch}} loss {{loss.item():.4f}}')", "df['{col}'] = df['{col}'].astype('category')",
    "features = ['{col}', '{col2}', '{table}_count']", "mlflow.log_metric('{col}', {lr})", "plt.plot(history['{col}'])",
    "tokenizer = AutoTokenizer.from_pretrained('{table}')", "dataset = load_from_disk('/data/{table}')",
    "scores = cross_val_score(clf, X, y, cv={n})", "clf = RandomForestClassifier(n_estimators={n}, random_state=42)",
]
_WORDS = ["user", "churn", "revenue", "click", "session", "embedding", "label", "score", "region", "price",
          "latency", "token", "prompt", "reward", "sample", "weight", "age", "tenure", "plan", "device"]


def _fill(rng: random.Random, line: str) -> str:
    return line.format(bucket=f"ml-{rng.choice(_WORDS)}", table=f"{rng.choice(_WORDS)}_{rng.choice(_WORDS)}",
                       col=rng.choice(_WORDS), col2=rng.choice(_WORDS), n=rng.randint(2, 500),
                       lr=f"{rng.choice([1, 2, 3, 5])}e-{rng.randint(3, 6)}")


def notebook_text(rng: random.Random, seed: int, name: str, edit: int = 0) -> bytes:
    cells = []
    for index in range(rng.randint(3, 14)):
        if rng.random() < 0.3:
            cells.append({"cell_type": "markdown", "id": f"{name}-{index}", "metadata": {},
                          "source": [f"## {rng.choice(_WORDS).title()} {rng.choice(_WORDS)} analysis (rev {edit})\n",
                                     f"We look at {rng.choice(_WORDS)} by {rng.choice(_WORDS)}."]})
            continue
        source = [_fill(rng, rng.choice(_CODE_LINES)) + "\n" for _ in range(rng.randint(1, 12))]
        outputs: list[dict[str, object]] = []
        if rng.random() < 0.5:
            outputs.append({"name": "stdout", "output_type": "stream",
                            "text": [f"{rng.choice(_WORDS)}: {rng.random():.6f}\n" for _ in range(rng.randint(1, 8))]})
        if rng.random() < 0.04:
            import base64

            png = b"\x89PNG\r\n\x1a\n" + random_bytes(seed, f"png:{name}:{index}:{edit}", rng.randint(1500, 12000))
            outputs.append({"data": {"image/png": base64.b64encode(png).decode(), "text/plain": ["<Figure>"]},
                            "metadata": {}, "output_type": "display_data"})
        cells.append({"cell_type": "code", "execution_count": index + 1, "id": f"{name}-{index}",
                      "metadata": {}, "outputs": outputs, "source": source})
    doc = {"cells": cells, "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                                        "language_info": {"name": "python", "version": "3.11.9"}},
           "nbformat": 4, "nbformat_minor": 5}
    return (json.dumps(doc, indent=1) + "\n").encode()


def config_text(rng: random.Random, name: str, edit: int = 0) -> bytes:
    lines = [f"# {name} (rev {edit})", "experiment:", f"  name: {rng.choice(_WORDS)}-{rng.choice(_WORDS)}-{rng.randint(1, 999)}",
             f"  seed: {rng.randint(0, 2**31)}", "model:", f"  base: {rng.choice(_WORDS)}/{rng.choice(_WORDS)}-{rng.choice([125, 350, 1300, 7000])}m",
             f"  dropout: {rng.choice([0.0, 0.05, 0.1, 0.2])}", "training:",
             f"  learning_rate: {rng.choice([1, 2, 3, 5])}e-{rng.randint(3, 6)}", f"  batch_size: {rng.choice([8, 16, 32, 64, 128])}",
             f"  epochs: {rng.randint(1, 50)}", f"  warmup_steps: {rng.randint(0, 2000)}", "data:"]
    for _ in range(rng.randint(2, 30)):
        lines.append(f"  - s3://ml-{rng.choice(_WORDS)}/{rng.choice(_WORDS)}/part-{rng.randint(0, 99999):05d}.parquet")
    lines.append("resources:")
    lines.append(f"  cpu: {rng.choice([1, 2, 4, 8])}")
    lines.append(f"  memory: {rng.choice([4, 8, 16, 32])}Gi")
    return ("\n".join(lines) + "\n").encode()


def small_file_paths(count: int) -> list[str]:
    """Relative paths of the small files: 100 per directory, 70% notebooks, 30% configs."""
    paths = []
    for index in range(count):
        team, user = divmod(index // 100, 10)
        kind = "notebooks" if index % 10 < 7 else "configs"
        suffix = "ipynb" if kind == "notebooks" else "yaml"
        paths.append(f"projects/team-{team:03d}/user-{user}/{kind}/{index:06d}.{suffix}")
    return paths


def small_file_content(seed: int, path: str, edit: int = 0) -> bytes:
    rng = random.Random(f"{seed}:{path}:{edit}")
    if path.endswith(".ipynb"):
        return notebook_text(rng, seed, Path(path).stem, edit)
    return config_text(rng, Path(path).stem, edit)


# --------------------------------------------------------------------------- generate / mutate


@dataclass
class Manifest:
    root: str
    seed: int
    requested_bytes: int
    total_bytes: int = 0
    files: int = 0
    parts: dict[str, int] = field(default_factory=dict)
    finetuned_tensors: list[str] = field(default_factory=list)
    finetuned_changed_bytes: int = 0
    checkpoint_data_bytes: int = 0
    seconds: float = 0.0

    def to_json(self) -> dict[str, object]:
        return dict(self.__dict__)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def tree_bytes(root: Path) -> tuple[int, int]:
    """(total bytes, file count) of the regular files under root."""
    total = files = 0
    for directory, _, names in os.walk(root):
        for name in names:
            total += os.lstat(os.path.join(directory, name)).st_size
            files += 1
    return total, files


def generate(root: Path, size: int = DEFAULT_SIZE, seed: int = DEFAULT_SEED, small_files: int | None = None,
             progress=None) -> Manifest:
    """Create the data set in ``root`` (which must not exist or be empty)."""
    started = time.perf_counter()
    say = progress or (lambda message: None)
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    if any(root.iterdir()):
        raise FileExistsError(f"{root} is not empty")
    manifest = Manifest(root=str(root), seed=seed, requested_bytes=size)
    (root / MARKER).write_text(f"mlark benchmark data set, seed {seed}, size {size}\n")

    if small_files is None:
        small_files = max(50, round(SMALL_FILES_AT_DEFAULT * min(1.0, size / DEFAULT_SIZE)))
    say(f"small files: {small_files}")
    small_total = 0
    for path in small_file_paths(small_files):
        data = small_file_content(seed, path)
        _write(root / path, data)
        small_total += len(data)
    manifest.parts["small_files"] = small_total

    remaining = max(0, size - small_total)
    checkpoint_budget = int(remaining * 0.40)
    tensors = model_tensors(checkpoint_budget)
    rng = random.Random(seed)
    changed = pick_tensors(tensors, FINETUNE_FRACTION, rng)
    manifest.finetuned_tensors = changed
    manifest.finetuned_changed_bytes = sum(t.nbytes for t in tensors if t.name in changed)
    manifest.checkpoint_data_bytes = sum(t.nbytes for t in tensors)
    say(f"checkpoints: 2 x {manifest.checkpoint_data_bytes / 2**20:.0f} MiB, {len(tensors)} tensors, "
        f"{len(changed)} changed in the fine-tuned copy")
    base = root / "checkpoints/base/model.safetensors"
    write_checkpoint(base, seed, tensors, {})
    finetuned = root / "checkpoints/finetuned/model.safetensors"
    write_checkpoint(finetuned, seed, tensors, {name: "finetune-1" for name in changed})
    manifest.parts["checkpoints"] = base.stat().st_size + finetuned.stat().st_size

    parquet_budget = max(0, size - small_total - manifest.parts["checkpoints"])
    parts = max(1, round(parquet_budget / _PARQUET_FILE_BYTES))
    rows_total = parquet_rows_for(parquet_budget)
    say(f"parquet-like files: {parts}, {rows_total} rows")
    first = 0
    parquet_total = 0
    for part in range(parts):
        rows = rows_total // parts + (1 if part < rows_total % parts else 0)
        path = root / f"data/features/part-{part:05d}.parquet"
        write_parquet_like(path, seed, f"part-{part:05d}", max(1, rows), first)
        first += rows
        parquet_total += path.stat().st_size
    manifest.parts["parquet"] = parquet_total

    manifest.total_bytes, manifest.files = tree_bytes(root)
    manifest.seconds = round(time.perf_counter() - started, 2)
    return manifest


@dataclass
class Mutation:
    fraction: float
    total_bytes_before: int
    changed_bytes: int = 0
    modified_files: list[str] = field(default_factory=list)
    new_files: list[str] = field(default_factory=list)
    rewritten_tensors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        data = dict(self.__dict__)
        data["changed_fraction"] = round(self.changed_bytes / max(1, self.total_bytes_before), 5)
        return data


def mutate(root: Path, seed: int = DEFAULT_SEED, fraction: float = MUTATE_FRACTION, generation: int = 1) -> Mutation:
    """Change about ``fraction`` of the data set's bytes, deterministically.

    Small files: 2% of them edited and 1% new; a new parquet partition of about 20% of
    the budget; the rest by rewriting tensors of the fine-tuned checkpoint in place
    (a continued fine-tune), the last one partly so that the total lands on the budget.
    """
    root = Path(root)
    total, _ = tree_bytes(root)
    result = Mutation(fraction=fraction, total_bytes_before=total)
    budget = int(total * fraction)
    rng = random.Random(f"{seed}:mutate:{generation}")

    small = sorted(str(p.relative_to(root)) for p in (root / "projects").rglob("*") if p.is_file())
    for path in rng.sample(small, max(1, len(small) * 2 // 100)):
        data = small_file_content(seed, path, edit=generation)
        _write(root / path, data)
        result.modified_files.append(path)
        result.changed_bytes += len(data)
    new_count = max(1, len(small) // 100)
    for index in range(new_count):
        path = f"projects/new-{generation}/{index // 100:03d}/{index:06d}." + ("ipynb" if index % 10 < 7 else "yaml")
        data = small_file_content(seed, path, edit=generation)
        _write(root / path, data)
        result.new_files.append(path)
        result.changed_bytes += len(data)

    parquet_bytes = max(0, int(budget * 0.2))
    if parquet_bytes >= 4096:
        existing = sorted((root / "data/features").glob("*.parquet"))
        path = root / f"data/features/part-{len(existing):05d}.parquet"
        write_parquet_like(path, seed, f"{path.stem}-gen{generation}", parquet_rows_for(parquet_bytes), 10**12 * generation)
        rel = str(path.relative_to(root))
        result.new_files.append(rel)
        result.changed_bytes += path.stat().st_size

    checkpoint = root / "checkpoints/finetuned/model.safetensors"
    spans = read_safetensors_spans(checkpoint)
    names = [name for name, (_, _, dtype) in spans.items() if dtype == "BF16"]
    rng.shuffle(names)
    with checkpoint.open("r+b") as handle:
        for name in names:
            left = budget - result.changed_bytes
            if left < 4096:
                break
            start, end, dtype = spans[name]
            width = 2
            count = (end - start) // width
            take = min(count, left // width)
            tensor = Tensor(name, dtype, (count,), 0.02)
            first = rng.randrange(0, count - take + 1)
            handle.seek(start + first * width)
            _write_tensor(handle, seed, f"tensor:mutate-{generation}:{name}", tensor, first, first + take)
            result.rewritten_tensors.append(name)
            result.changed_bytes += take * width
    if str(checkpoint.relative_to(root)) not in result.modified_files:
        result.modified_files.append(str(checkpoint.relative_to(root)))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.repo.dataset", description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--size", default="2G", help="total size, e.g. 256M, 2G (default 2G)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--small-files", type=int, default=None)
    parser.add_argument("--mutate", action="store_true", help="apply the 2%% change to an existing data set")
    args = parser.parse_args(argv)
    try:
        if args.mutate:
            print(json.dumps(mutate(args.root, args.seed).to_json() | {"modified_files": "..."}, indent=1))
        else:
            size = parse_size(args.size)
            manifest = generate(args.root, size, args.seed, args.small_files, progress=lambda m: print(m, file=sys.stderr))
            print(json.dumps(manifest.to_json() | {"finetuned_tensors": len(manifest.finetuned_tensors)}, indent=1))
    except (ValueError, FileExistsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
