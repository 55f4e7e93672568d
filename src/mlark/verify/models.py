"""What verify stores and reports: fingerprints (taken at backup time, recomputed after a restore)
and the result of comparing two of them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

Kind = Literal["inference", "files", "database", "model-registry", "pipelines", "artifacts"]
KINDS: tuple[Kind, ...] = ("inference", "files", "database", "model-registry", "pipelines", "artifacts")
ERROR_KEY = "error"  # data of a fingerprint that could not be taken: {"error": "why"}


class Fingerprint(BaseModel):
    """A small, named, comparable summary of one part of an application."""

    name: str  # stable id, e.g. "inference rhoai-demo/iris", "files rhoai-demo/rodolfo-workbench"
    kind: Kind
    namespace: str | None  # where the subject lives (a namespace mapping relocates the check)
    subject: dict[str, Any]  # what to look at again: object ref, claim, workload + container, bucket + prefix, request
    data: dict[str, Any]  # the comparable summary
    rule: str = "equal"  # "equal", or "similar:0.9" for generative answers

    @property
    def error(self) -> str | None:
        """Why the fingerprint could not be taken, if it could not."""
        value = self.data.get(ERROR_KEY)
        return str(value) if value is not None else None


class CheckResult(BaseModel):
    name: str
    kind: str
    # None: not applicable, there was nothing to check. That is neither a pass (nothing was
    # shown to be right) nor a failure (nothing was found wrong).
    passed: bool | None
    message: str
    diff: list[str] = []  # human-readable diff lines on failure

    @property
    def failed(self) -> bool:
        return self.passed is False

    @property
    def outcome(self) -> str:
        """"pass", "fail" or "not applicable", as reports print it."""
        return OUTCOMES[self.passed]


OUTCOMES: dict[bool | None, str] = {True: "pass", False: "fail", None: "not applicable"}
