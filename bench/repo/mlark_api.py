"""Drive mlark's repository engine through its Python API (what `mlark repo` wraps).

Used by the benchmark when the `mlark repo` CLI does not have a command yet, and for
profiling the engine without the CLI around it::

    MLARK_PASSWORD=... python -m bench.repo.mlark_api init REPO
    MLARK_PASSWORD=... python -m bench.repo.mlark_api backup REPO PATH
    MLARK_PASSWORD=... python -m bench.repo.mlark_api restore REPO TARGET
"""

from __future__ import annotations

import json
import os
import sys


def main(argv: list[str]) -> int:
    from mlark import repo as engine

    password = os.environ["MLARK_PASSWORD"]
    command, url, *rest = argv
    if command == "init":
        engine.init_repository(url, password)
        print(json.dumps({"initialized": url}))
    elif command == "backup":
        summary = engine.backup(engine.open_repository(url, password), paths=rest)
        print(summary.model_dump_json() if hasattr(summary, "model_dump_json") else json.dumps(vars(summary), default=str))
    elif command == "restore":
        summary = engine.restore(engine.open_repository(url, password), "latest", rest[0])
        print(summary.model_dump_json() if hasattr(summary, "model_dump_json") else json.dumps(vars(summary), default=str))
    else:
        print(f"unknown command {command!r}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
