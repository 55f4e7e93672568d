"""Dependency order of the seed's restore, edges refining it, and cycles that do not crash."""

from __future__ import annotations

from mlark.restore.graph import topological
from mlark.restore.planner import build_plan
from mlark.restore.steps import LinkOwners, LoadDatabase, PhaseName, RestoreArtifact, RestoreVolume, WaitFor
from mlark.restorepoint.models import Edge
from tests.restore.helpers import create, index_of
from tests.restore.seed import ISVC, REGISTRIES, captured_objects, ref, restore_point, seed_options


def test_seed_order_crds_namespaces_secrets_pvcs_database_workloads_runtime_isvc() -> None:
    plan = build_plan(restore_point(), captured_objects(), seed_options(include_regenerated=True))
    order = [
        index_of(plan, "CustomResourceDefinition", "inferenceservices.serving.kserve.io"),
        index_of(plan, "Namespace", "rhoai-demo"),
        index_of(plan, "Secret", "aws-connection-rhoai-demo-bucket"),
        index_of(plan, "PersistentVolumeClaim", "rodolfo-workbench"),
        index_of(plan, "Deployment", "model-registry-db", LoadDatabase),
        index_of(plan, "Deployment", "iris-predictor"),
        index_of(plan, "ServingRuntime", "mlserver-runtime"),
        index_of(plan, "InferenceService", "iris"),
    ]
    assert order == sorted(order)


def test_phases_follow_the_fixed_order() -> None:
    plan = build_plan(restore_point(), captured_objects(), seed_options())
    names = [phase.name for phase in plan.phases]
    assert names == [name for name in PhaseName if name in names]
    assert names[:3] == [PhaseName.crds, PhaseName.namespaces, PhaseName.cluster]


def test_crds_wait_established_before_namespaces() -> None:
    plan = build_plan(restore_point(), captured_objects(), seed_options())
    crds = plan.phase(PhaseName.crds)
    assert crds is not None
    waits = [step for step in crds.steps if isinstance(step, WaitFor)]
    assert {wait.ref.name for wait in waits} >= {"inferenceservices.serving.kserve.io", "servingruntimes.serving.kserve.io"}
    assert all(wait.condition.value == "Established" for wait in waits)


def test_database_workload_runs_before_its_dump_loads() -> None:
    plan = build_plan(restore_point(), captured_objects(), seed_options())
    created = index_of(plan, "Deployment", "model-registry-db")
    running = index_of(plan, "Deployment", "model-registry-db", WaitFor)
    loaded = index_of(plan, "Deployment", "model-registry-db", LoadDatabase)
    assert created < running < loaded
    load = plan.steps()[loaded]
    assert isinstance(load, LoadDatabase)
    assert load.selector == {"name": "model-registry-db"} and load.guard is not None and load.guard.name == "model-registry-db"


def test_operator_rendered_database_loads_after_its_custom_resource() -> None:
    """DSPA's MariaDB is rendered by the DSP operator: its dump loads once that pod runs."""
    plan = build_plan(restore_point(), captured_objects(), seed_options())
    dspa = index_of(plan, "DataSciencePipelinesApplication", "dspa")
    loaded = index_of(plan, "Deployment", "mariadb-dspa", LoadDatabase)
    assert dspa < index_of(plan, "Deployment", "mariadb-dspa", WaitFor) < loaded
    assert plan.phases[-2].name == PhaseName.operator_data


def test_database_volumes_are_created_empty_by_default_and_files_on_request() -> None:
    plan = build_plan(restore_point(), captured_objects(), seed_options())
    restored = {step.claim for step in plan.steps() if isinstance(step, RestoreVolume)}
    assert restored == {"rodolfo-workbench"}
    files = build_plan(restore_point(), captured_objects(), seed_options(database_data="files"))
    assert {step.claim for step in files.steps() if isinstance(step, RestoreVolume)} == {"rodolfo-workbench", "mariadb-dspa", "model-registry-db"}
    assert not [step for step in files.steps() if isinstance(step, LoadDatabase)]


def test_artifacts_come_back_before_inference_services() -> None:
    plan = build_plan(restore_point(), captured_objects(), seed_options())
    artifact = next(i for i, step in enumerate(plan.steps()) if isinstance(step, RestoreArtifact))
    assert artifact < index_of(plan, "InferenceService", "iris")


def test_owner_created_later_is_linked_in_the_last_phase() -> None:
    plan = build_plan(restore_point(), captured_objects(), seed_options())
    assert plan.phases[-1].name == PhaseName.relink
    links = {step.ref.name: step for step in plan.phases[-1].steps if isinstance(step, LinkOwners)}
    assert links["mariadb-dspa"].owners[0].owner.kind == "DataSciencePipelinesApplication"
    assert links["mariadb-dspa"].owners[0].controller
    assert "ownerReferences" not in create(plan, "PersistentVolumeClaim", "mariadb-dspa").object["metadata"]


def test_edges_refine_the_order_inside_a_phase() -> None:
    """Without edges the rank puts ModelRegistry before Notebook; an edge can reverse that."""
    point = restore_point()
    point.edges.append(Edge(source=ref("ModelRegistry", "rhoai-registry", REGISTRIES, "modelregistry.opendatahub.io", "v1beta1"),
                            target=ref("Notebook", "rodolfo-workbench", group="kubeflow.org"), relation="test"))
    plan = build_plan(point, captured_objects(), seed_options())
    assert index_of(plan, "Notebook", "rodolfo-workbench") < index_of(plan, "ModelRegistry", "rhoai-registry")


def test_cycles_are_reported_not_fatal() -> None:
    point = restore_point()
    point.edges.append(Edge(source=ref("ServingRuntime", "mlserver-runtime", group="serving.kserve.io", version="v1alpha1"),
                            target=ref("InferenceService", "iris", **ISVC), relation="test"))
    plan = build_plan(point, captured_objects(), seed_options())
    cycles = [note for note in plan.notes if note.code == "cycle"]
    assert len(cycles) == 1 and "InferenceService rhoai-demo/iris" in cycles[0].message
    assert len(plan.creates()) == len(build_plan(restore_point(), captured_objects(), seed_options()).creates())


def test_edge_to_a_later_phase_is_a_note() -> None:
    point = restore_point()
    point.edges.append(Edge(source=ref("Secret", "aws-connection-rhoai-demo-bucket"),
                            target=ref("InferenceService", "iris", **ISVC), relation="test"))
    plan = build_plan(point, captured_objects(), seed_options())
    assert any(note.code == "order-inversion" for note in plan.notes)


def test_topological_keeps_given_order_and_breaks_cycles() -> None:
    assert topological(["a", "b", "c", "d"], {"a": {"c"}, "c": {"b"}}) == (["b", "c", "a", "d"], [])
    order, cycles = topological(["x", "a", "b", "c"], {"a": {"b"}, "b": {"c"}, "c": {"a"}})
    assert sorted(order) == ["a", "b", "c", "x"] and order[0] == "x"
    assert len(cycles) == 1 and set(cycles[0]) == {"a", "b", "c"}


def test_plan_round_trips_through_json() -> None:
    from mlark.restore.steps import RestorePlan

    plan = build_plan(restore_point(), captured_objects(), seed_options())
    assert RestorePlan.model_validate_json(plan.model_dump_json()) == plan


def test_existing_update_loads_dumps_over_existing_databases() -> None:
    """--existing update replaces what exists: the dump (which drops and recreates its databases)
    is loaded even into a database this restore did not create."""
    plan = build_plan(restore_point(), captured_objects(), seed_options(existing="update"))
    loads = [step for step in plan.steps() if isinstance(step, LoadDatabase)]
    assert loads and all(load.guard is None for load in loads)


def _with_redis(objects: list, claim_template: bool = True) -> tuple:
    from mlark.restorepoint.models import DatabaseCapture

    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "cache", "namespace": REGISTRIES},
           "spec": {"selector": {"matchLabels": {"app": "cache"}}, "serviceName": "cache",
                    "template": {"metadata": {"labels": {"app": "cache"}}, "spec": {"containers": [
                        {"name": "redis", "image": "redis:7.2", "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}},
                    "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {}}] if claim_template else []}}
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data-cache-0", "namespace": REGISTRIES},
             "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
    point = restore_point()
    point.databases.append(DatabaseCapture(namespace=REGISTRIES, workload=ref("StatefulSet", "cache", REGISTRIES, "apps"),
                                           pod="cache-0", container="redis", engine="redis", claim="data-cache-0",
                                           stream="databases/redis", tool="redis-cli --rdb", bytes=100))
    return point, [*objects, sts, claim]


def test_a_redis_rdb_goes_into_its_new_claim_before_its_statefulset() -> None:
    point, objects = _with_redis(captured_objects())
    plan = build_plan(point, objects, seed_options())
    placed = index_of(plan, "StatefulSet", "cache", LoadDatabase)
    load = plan.steps()[placed]
    assert isinstance(load, LoadDatabase) and load.data_file == "dump.rdb" and load.guard is not None
    assert load.guard.kind == "PersistentVolumeClaim" and load.guard.name == "data-cache-0"
    assert index_of(plan, "PersistentVolumeClaim", "data-cache-0") < placed < index_of(plan, "StatefulSet", "cache")
    assert any(phase.name == PhaseName.volumes and load in phase.steps for phase in plan.phases)
    # Even when dumps are loaded over existing databases, a claim that exists is never written into.
    updated = build_plan(point, objects, seed_options(existing="update"))
    assert updated.steps()[index_of(updated, "StatefulSet", "cache", LoadDatabase)].guard is not None  # type: ignore[union-attr]


def test_a_redis_without_a_data_claim_is_noted_not_loaded() -> None:
    point, objects = _with_redis(captured_objects(), claim_template=False)
    plan = build_plan(point, objects, seed_options())
    assert not [s for s in plan.steps() if isinstance(s, LoadDatabase) and s.capture.engine == "redis"]
    assert any(note.code == "redis-not-loaded" and "starts empty" in note.message for note in plan.notes)
