"""OpenShift UID ranges: which namespace annotations a restore keeps and which restored volumes must
have their file owners shifted to the range of the namespace they land in.

OpenShift's restricted SCC runs pods with UIDs (and an fsGroup) from the namespace's
`openshift.io/sa.scc.*` ranges. Volume data written under one range is unreadable under another:
either the namespace keeps the captured range, or the data is re-owned to the target's range.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from mlark.restore.facts import SCC_ANNOTATIONS, SCC_GROUPS, SCC_UID_RANGE, ClusterFacts
from mlark.restore.options import UidRangePolicy

Obj = dict[str, Any]


class RangeDecision(BaseModel):
    """For one target namespace: keep the captured annotations? re-own restored data?"""

    namespace: str
    keep_annotations: bool
    reown: bool
    from_uid_range: str | None = None
    to_uid_range: str | None = None  # None with reown: assigned by OpenShift at creation
    from_groups: str | None = None
    to_groups: str | None = None
    reason: str = ""


def decide(captured: Obj | None, target: str, policy: UidRangePolicy, facts: ClusterFacts | None) -> RangeDecision:
    annotations = ((captured or {}).get("metadata") or {}).get("annotations") or {}
    source_range, source_groups = annotations.get(SCC_UID_RANGE), annotations.get(SCC_GROUPS)
    base = RangeDecision(namespace=target, keep_annotations=False, reown=False,
                         from_uid_range=source_range, from_groups=source_groups)
    if source_range is None:
        return base.model_copy(update={"reason": "no OpenShift UID range captured"})
    existing = facts.namespace(target) if facts else None
    if existing is not None:
        return _existing(base, existing.annotations)
    holder = facts.uid_range_holder(source_range, besides=target) if facts else None
    if policy == UidRangePolicy.reassign or (policy == UidRangePolicy.auto and holder):
        why = f"range {source_range} is held by namespace {holder}" if holder else "uid_range=reassign"
        return base.model_copy(update={"reown": True, "reason": f"{why}: OpenShift assigns a new range, data re-owned"})
    return base.model_copy(update={"keep_annotations": True, "to_uid_range": source_range, "to_groups": source_groups,
                                   "reason": "captured range kept"})


def _existing(base: RangeDecision, annotations: dict[str, str]) -> RangeDecision:
    # Never change the range of a namespace that exists: its running pods use it.
    target_range, target_groups = annotations.get(SCC_UID_RANGE), annotations.get(SCC_GROUPS)
    if target_range is None or (target_range == base.from_uid_range and target_groups == base.from_groups):
        return base.model_copy(update={"to_uid_range": target_range, "to_groups": target_groups,
                                       "reason": "target namespace exists with the same range"})
    return base.model_copy(update={"reown": True, "to_uid_range": target_range, "to_groups": target_groups,
                                   "reason": f"target namespace exists with range {target_range}"})


def apply_to_namespace(body: Obj, decision: RangeDecision) -> Obj:
    """Drop the sa.scc annotations from a Namespace body unless the decision keeps them."""
    if decision.keep_annotations:
        return body
    metadata = dict(body["metadata"])
    annotations = {k: v for k, v in (metadata.get("annotations") or {}).items() if k not in SCC_ANNOTATIONS}
    metadata["annotations"] = annotations
    if not annotations:
        del metadata["annotations"]
    return {**body, "metadata": metadata}
