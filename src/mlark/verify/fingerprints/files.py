"""PVCs (a workbench's home, any captured volume): the path, size and sha256 of every file.

Computed in a short-lived mover pod that mounts the claim (read-only, beside the pod using it),
so the application's own image needs no tools. Volumes captured as database dumps are not
here: their database fingerprint covers them.
"""

from __future__ import annotations

import fnmatch
from typing import Any

from mlark.volumedata.mover import CONTAINER
from mlark.volumedata.transfer import mover
from mlark.kube.exec import exec_capture
from mlark.verify.fingerprints.common import Context, FingerprintError
from mlark.verify.models import Fingerprint

# One NUL-separated record per file: path, size, sha256. NULs survive any file name.
MANIFEST_SCRIPT = (
    'find . -type f -exec sh -c \'for f do s=$(wc -c < "$f") && h=$(sha256sum < "$f") '
    '&& printf "%s\\0%s\\0%s\\0" "$f" "$s" "${h%% *}" || exit 1; done\' sh {} +'
)
ALWAYS_EXCLUDED = ["./lost+found/*"]
TIMEOUT = 600.0


def targets(context: Context) -> list[Fingerprint]:
    exclude = list(context.spec.files.exclude)
    return [
        Fingerprint(name=f"files {volume.namespace}/{volume.claim}", kind="files", namespace=volume.namespace,
                    subject={"namespace": volume.namespace, "claim": volume.claim, "exclude": exclude}, data={})
        for volume in context.manifest.volumes
    ]


def measure(context: Context, fingerprint: Fingerprint) -> dict[str, Any]:
    namespace, claim = str(fingerprint.subject["namespace"]), str(fingerprint.subject["claim"])
    with mover(context.api, namespace, claim, "verify") as pod:
        result = exec_capture(context.api, namespace, pod, CONTAINER, ["sh", "-c", MANIFEST_SCRIPT], timeout=TIMEOUT)
    if result.returncode != 0:
        raise FingerprintError(f"listing the files of PVC {namespace}/{claim} failed: "
                               f"{result.stderr.decode('utf-8', 'replace').strip()[-400:] or result.message}")
    files = parse_manifest(result.stdout, ALWAYS_EXCLUDED + list(fingerprint.subject.get("exclude") or []))
    return {"files": files}  # no totals: a diff names the file that changed, not a sum


def parse_manifest(output: bytes, exclude: list[str]) -> dict[str, dict[str, Any]]:
    """{path: {size, sha256}} from the script's NUL-separated records."""
    fields = output.split(b"\0")
    files: dict[str, dict[str, Any]] = {}
    for i in range(0, len(fields) - 2, 3):
        path = fields[i].decode("utf-8", "replace")
        if any(fnmatch.fnmatchcase(path, pattern) for pattern in exclude):
            continue
        files[path] = {"size": int(fields[i + 1].strip()), "sha256": fields[i + 2].decode().strip()}
    return dict(sorted(files.items()))
