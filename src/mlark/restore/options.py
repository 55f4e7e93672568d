"""What a user asks of one restore: which restore point, what to bring back, and how to change it.

Pure data, validated by pydantic so a bad option is one clear error before anything is planned.
Names accept shell globs (`fnmatch`, case-sensitive) wherever the field is called `names`.
"""

from __future__ import annotations

import enum
import re
from typing import Any

import jsonpatch
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mlark.restorepoint.models import ObjectRef

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class ExistingPolicy(str, enum.Enum):
    """What to do with an object that already exists on the target."""

    skip = "skip"  # leave it alone (the seed's skipIfAlreadyExists)
    update = "update"  # replace its spec/data with the captured one
    fail = "fail"  # record a failure for that object


class UidRangePolicy(str, enum.Enum):
    """OpenShift namespace UID/GID/SELinux ranges (`openshift.io/sa.scc.*` annotations)."""

    auto = "auto"  # keep, unless another target namespace already holds the range: then reassign
    keep = "keep"  # always keep the captured annotations (the seed's useOCPNamespaceUIDRange)
    reassign = "reassign"  # drop them; the target assigns a range and the data is re-owned to it


class DatabaseData(str, enum.Enum):
    """How a captured database comes back when both its dump and its volume were captured."""

    dump = "dump"  # volume created empty, dump loaded: the application-consistent copy (default)
    files = "files"  # raw volume files restored, dump not loaded (crash-consistent, faster)


class ArtifactPolicy(str, enum.Enum):
    if_missing = "if-missing"  # copy back only objects absent from the bucket or with another ETag
    always = "always"
    never = "never"


class GroupKind(BaseModel):
    """A kind in an API group ("" is the core group). Also written "Kind" or "Kind.group"."""

    model_config = ConfigDict(frozen=True)

    group: str = ""
    kind: str

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            kind, _, group = value.partition(".")
            return {"kind": kind, "group": group}
        return value

    def matches(self, group: str, kind: str) -> bool:
        return self.group == group and self.kind == kind

    def __str__(self) -> str:
        return f"{self.kind}.{self.group}" if self.group else self.kind


class Scope(BaseModel):
    """A partial restore: every non-empty field narrows the selection (empty means everything)."""

    model_config = ConfigDict(extra="forbid")

    namespaces: list[str] = []  # source namespaces, globs
    kinds: list[GroupKind] = []
    names: list[str] = []  # globs
    label_selector: str | None = None  # "app=x,tier!=y,env in (a,b),!legacy"

    @property
    def is_whole(self) -> bool:
        return not (self.namespaces or self.kinds or self.names or self.label_selector)


class Exclusion(BaseModel):
    """Objects left out of the restore, by group/version/kind and names (the seed's model-catalog)."""

    model_config = ConfigDict(extra="forbid")

    group: str = ""
    version: str | None = None  # None: any version
    kind: str
    names: list[str] = []  # globs; empty: every object of the kind
    namespaces: list[str] = []  # source namespaces, globs; empty: every namespace

    def describe(self) -> str:
        kind = f"{self.kind}.{self.group}" if self.group else self.kind
        return f"{kind} {', '.join(self.names)}" if self.names else kind


class Transform(BaseModel):
    """An RFC 6902 JSON patch applied to matching objects after mlark's own rewrites."""

    model_config = ConfigDict(extra="forbid")

    group: str = ""
    kind: str
    names: list[str] = []  # globs; empty: every object of the kind
    namespaces: list[str] = []  # source namespaces, globs
    patch: list[dict[str, Any]]

    @field_validator("patch")
    @classmethod
    def _valid_patch(cls, patch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        try:
            jsonpatch.JsonPatch(patch)._ops  # parses every operation, raising on a malformed one
        except (jsonpatch.JsonPatchException, KeyError, TypeError) as error:
            raise ValueError(f"invalid JSON patch: {error}") from error
        return patch


def _check_dns_labels(mapping: dict[str, str], what: str) -> None:
    for name in [*mapping, *mapping.values()]:
        if not _DNS_LABEL.match(name) or len(name) > 63:
            raise ValueError(f"{what}: {name!r} is not a valid namespace name")


def _check_injective(mapping: dict[str, str], what: str) -> None:
    seen: dict[str, str] = {}
    for source, target in mapping.items():
        if target in seen:
            raise ValueError(f"{what}: {seen[target]!r} and {source!r} both map to {target!r}")
        seen[target] = source


class RestoreOptions(BaseModel):
    """Everything `mlark restore create` accepts, independent of any cluster."""

    model_config = ConfigDict(extra="forbid")

    restore_point: str
    scope: Scope = Field(default_factory=Scope)
    namespace_mapping: dict[str, str] = {}  # source -> target
    storage_class_mapping: dict[str, str] = {}  # captured class -> target class
    bucket_mapping: dict[str, str] = {}  # captured bucket -> target bucket, for artifacts
    transforms: list[Transform] = []
    existing: ExistingPolicy = ExistingPolicy.skip
    exclude: list[Exclusion] = []
    include_regenerated: bool = False  # True: also create what operators would render themselves
    uid_range: UidRangePolicy = UidRangePolicy.auto
    database_data: DatabaseData = DatabaseData.dump
    artifacts: ArtifactPolicy = ArtifactPolicy.if_missing

    @field_validator("namespace_mapping")
    @classmethod
    def _valid_namespaces(cls, mapping: dict[str, str]) -> dict[str, str]:
        _check_dns_labels(mapping, "namespace_mapping")
        _check_injective(mapping, "namespace_mapping")
        return mapping

    def target_namespace(self, source: str) -> str:
        return self.namespace_mapping.get(source, source)

    def target_ref(self, ref: ObjectRef) -> ObjectRef:
        """Where a captured object lands: its namespace mapped (a Namespace: its name)."""
        if ref.group == "" and ref.kind == "Namespace":
            return ref.model_copy(update={"name": self.target_namespace(ref.name)})
        if ref.namespace is None:
            return ref
        return ref.model_copy(update={"namespace": self.target_namespace(ref.namespace)})
