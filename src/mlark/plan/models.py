"""The plan: what to protect, as code (`apiVersion: mlark.io/v1alpha1`, `kind: Plan`).

Kubernetes-shaped (metadata + spec, camelCase fields) because the same document will become a
custom resource. Strict: an unknown field is an error, since a misspelt `exclude` that is
silently ignored would back up, or skip, the wrong things.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, field_validator, model_validator
from pydantic.alias_generators import to_camel

from mlark.plan.durations import format_duration, parse_duration, parse_within

API_VERSION = "mlark.io/v1alpha1"
KIND = "Plan"

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _duration(value: Any) -> Any:
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise ValueError("must be a duration string such as 15m or 1h")
    return parse_duration(value)


def dns_label(value: str) -> str:
    """A Kubernetes name of one DNS label: lowercase letters, digits and '-'."""
    if not _DNS_LABEL.match(value):
        raise ValueError(f"{value!r} is not a valid name (lowercase letters, digits and '-')")
    return value


Duration = Annotated[timedelta, BeforeValidator(_duration), PlainSerializer(format_duration, return_type=str)]


class _Spec(BaseModel):
    """Base of every plan section: camelCase in YAML, snake_case in Python, nothing unknown."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)


def _one_of(model: BaseModel, fields: tuple[str, ...]) -> None:
    given = [name for name in fields if getattr(model, name) is not None]
    if len(given) != 1:
        names = [to_camel(name) for name in fields]
        raise ValueError(f"give exactly one of {', '.join(names[:-1])} or {names[-1]}")


# --- label selectors -------------------------------------------------------------------------


class LabelSelectorRequirement(_Spec):
    key: str
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: list[str] = []

    @model_validator(mode="after")
    def _values_fit_operator(self) -> LabelSelectorRequirement:
        # The API server rejects the same combinations; say so before we ever reach it.
        if self.operator in ("In", "NotIn") and not self.values:
            raise ValueError(f"operator {self.operator} needs at least one value")
        if self.operator in ("Exists", "DoesNotExist") and self.values:
            raise ValueError(f"operator {self.operator} takes no values")
        return self


class LabelSelector(_Spec):
    """A Kubernetes label selector; an empty one selects everything, as in Kubernetes."""

    match_labels: dict[str, str] = {}
    match_expressions: list[LabelSelectorRequirement] = []


# --- what to capture -------------------------------------------------------------------------


class Namespaces(_Spec):
    """Namespaces by name, glob (`prod-*`) or label; all of them form one restore point."""

    names: list[str] = []
    globs: list[str] = []
    selector: LabelSelector | None = None
    exclude: list[str] = []  # names or globs taken out of whatever the rest selects

    @model_validator(mode="after")
    def _selects_something(self) -> Namespaces:
        if not (self.names or self.globs or self.selector is not None):
            raise ValueError("select namespaces by names, globs or selector")
        return self


class ResourceRule(_Spec):
    """Objects matching every given field. `group: ""` is the core group; absent means any."""

    group: str | None = None
    kind: str | None = None
    names: list[str] = []  # exact names or globs
    label_selector: LabelSelector | None = None


class Resources(_Spec):
    include: list[ResourceRule] = []  # empty: every object of the selected namespaces
    exclude: list[ResourceRule] = []
    # auto: the cluster-scoped objects the namespaced ones need (CRDs, PVs, StorageClasses,
    # bound ClusterRoles); true: also every cluster-scoped object the rules include; false: none.
    include_cluster_resources: Literal["auto", True, False] = "auto"


class VolumeRule(_Spec):
    namespace: str | None = None  # name or glob; absent: any
    name: str | None = None  # PVC name or glob; absent: any


class Volumes(_Spec):
    capture: bool = True
    include: list[VolumeRule] = []  # empty: every PVC of the selected namespaces
    exclude: list[VolumeRule] = []


class SecretKeyRef(_Spec):
    name: str
    key: str
    namespace: str | None = None  # default: the namespace the reference is used in


class SecretSource(_Spec):
    """Where a secret value comes from; never the value itself, so plans can live in git."""

    secret_key_ref: SecretKeyRef | None = None
    env: str | None = None  # an environment variable of the database container

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretSource:
        _one_of(self, ("secret_key_ref", "env"))
        return self


class ValueSource(_Spec):
    """A non-secret setting (a user name): a plain value or a container environment variable."""

    value: str | None = None
    env: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ValueSource:
        _one_of(self, ("value", "env"))
        return self


class DatabaseCredentials(_Spec):
    user: ValueSource | None = None
    password: SecretSource | None = None


class WorkloadRef(_Spec):
    kind: Literal["Deployment", "StatefulSet", "DaemonSet", "Pod"] = "Deployment"
    name: str


class DeclaredDatabase(_Spec):
    namespace: str
    workload: WorkloadRef | None = None
    pod_selector: LabelSelector | None = None
    container: str | None = None  # default: the pod's only (or first) container
    engine: Literal["mariadb", "mysql", "postgres", "redis"]
    databases: list[str] = []  # empty: all databases
    credentials: DatabaseCredentials | None = None  # default: the engine's usual env variables

    @model_validator(mode="after")
    def _one_target(self) -> DeclaredDatabase:
        _one_of(self, ("workload", "pod_selector"))
        return self


class Databases(_Spec):
    auto_detect: bool = True  # find database containers from their images
    declared: list[DeclaredDatabase] = []


class Artifacts(_Spec):
    """S3 objects the captured ML objects point at (model files, pipeline artifacts)."""

    capture: bool = True
    exclude_buckets: list[str] = []  # names or globs of buckets protected elsewhere
    exclude_prefixes: list[str] = []  # `bucket/prefix` or `s3://bucket/prefix`


# --- hooks, targets, schedule ----------------------------------------------------------------


class Hook(_Spec):
    name: str | None = None
    namespace: str
    pod_selector: LabelSelector
    container: str | None = None
    command: list[str] = Field(min_length=1)
    timeout: Duration = timedelta(seconds=60)
    on_error: Literal["fail", "continue"] = "fail"


class Hooks(_Spec):
    pre: list[Hook] = []  # before any data is captured (quiesce)
    post: list[Hook] = []  # after the last data capture (resume), also when capture failed


class PasswordFrom(_Spec):
    """The repository password: an environment variable, a file, or a Kubernetes Secret key."""

    env: str | None = None
    file: str | None = None
    secret: SecretKeyRef | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> PasswordFrom:
        _one_of(self, ("env", "file", "secret"))
        if self.env is not None and not _ENV_NAME.match(self.env):
            raise ValueError(f"{self.env!r} is not an environment variable name")
        return self


class Target(_Spec):
    name: str
    repository: str  # a local path or s3:ENDPOINT/BUCKET/PREFIX
    password_from: PasswordFrom

    @field_validator("name")
    @classmethod
    def _dns_label(cls, value: str) -> str:
        if not _DNS_LABEL.match(value):
            raise ValueError(f"{value!r} is not a valid name (lowercase letters, digits and '-')")
        return value

    @field_validator("repository")
    @classmethod
    def _repository_url(cls, value: str) -> str:
        return check_repository_url(value)


def check_repository_url(url: str) -> str:
    """The forms the repository engine opens; checked here so a plan fails at validate time."""
    if not url.strip():
        raise ValueError("repository is empty")
    if url.startswith("s3:"):
        rest = url[len("s3:") :]
        for scheme in ("http://", "https://"):
            if rest.startswith(scheme):
                host, _, rest = rest[len(scheme) :].partition("/")
                if not host:
                    raise ValueError(f"repository {url!r} has an empty endpoint host")
        if not rest.strip("/"):
            raise ValueError(f"repository {url!r} names no bucket; write s3:ENDPOINT/BUCKET/PREFIX")
        return url
    if "://" in url:
        raise ValueError(f"repository {url!r}: use a local path or s3:ENDPOINT/BUCKET/PREFIX")
    return url


def _within(value: Any) -> Any:
    if value is None:
        return value
    if not isinstance(value, str):
        raise ValueError("must be a period such as 7d, 2w or 1y6m")
    parse_within(value)
    return value


class Retention(_Spec):
    """Which restore points `forget` keeps; the same rules as the repository's forget."""

    keep_last: int | None = Field(default=None, ge=0)
    keep_hourly: int | None = Field(default=None, ge=0)
    keep_daily: int | None = Field(default=None, ge=0)
    keep_weekly: int | None = Field(default=None, ge=0)
    keep_monthly: int | None = Field(default=None, ge=0)
    keep_yearly: int | None = Field(default=None, ge=0)
    within: Annotated[str | None, BeforeValidator(_within)] = None  # restic's form: m = months


class Objectives(_Spec):
    rpo: Duration | None = None  # the newest good restore point is never older than this
    rto: Duration | None = None  # a restore (drill) must finish within this


def cron_expression(value: Any) -> Any:
    """A cron string croniter accepts (None passes: the field is optional where it is used)."""
    if value is None:
        return value
    if not isinstance(value, str):
        raise ValueError("must be a cron string such as '0 * * * *'")
    from croniter import croniter  # imported here: only plans with a schedule pay for it

    if not croniter.is_valid(value):
        raise ValueError(f"{value!r} is not a valid cron expression (minute hour day month weekday)")
    return value


class PlanSpec(_Spec):
    namespaces: Namespaces
    resources: Resources = Resources()
    volumes: Volumes = Volumes()
    databases: Databases = Databases()
    artifacts: Artifacts = Artifacts()
    hooks: Hooks = Hooks()
    targets: list[Target] = Field(min_length=1)
    retention: Retention | None = None
    objectives: Objectives | None = None
    schedule: Annotated[str | None, BeforeValidator(cron_expression)] = None
    verification: dict[str, Any] | None = None  # free-form until the verify plugins define it

    @field_validator("targets")
    @classmethod
    def _unique_targets(cls, targets: list[Target]) -> list[Target]:
        names = [target.name for target in targets]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"target names must be unique; repeated: {', '.join(duplicates)}")
        return targets


class ObjectMeta(_Spec):
    name: str
    namespace: str | None = None  # used once plans are custom resources
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}

    @field_validator("name")
    @classmethod
    def _dns_name(cls, value: str) -> str:
        if not _DNS_LABEL.match(value):
            raise ValueError(f"{value!r} is not a valid name (lowercase letters, digits and '-')")
        return value


class Plan(_Spec):
    api_version: Literal["mlark.io/v1alpha1"]
    kind: Literal["Plan"]
    metadata: ObjectMeta
    spec: PlanSpec

    @property
    def name(self) -> str:
        return self.metadata.name

    def to_manifest(self) -> dict[str, Any]:
        """The plan as a YAML/JSON-ready dict, in its own (camelCase) spelling."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
