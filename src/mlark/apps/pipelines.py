"""Data Science Pipelines: a DSPA depends on its object storage credentials and bucket and on
its database (the MariaDB it deploys, or an external one); an Argo Workflow belongs to the
pipeline server whose runner service account runs it.

When the DSPA deploys its own MariaDB, the operator renders `mariadb-<name>` (Deployment,
Service, PVC) and the password Secret `ds-pipeline-db-<name>`. The PVC and the Secret hold
state (the run history, and the password that state was written with), so the DSPA depends
on them; the Deployment and Service are regenerated and listed by `rendered_objects`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlark.apps.base import ArtifactLocation, Obj, ObjectIndex, bucket_prefix, core, dig, edge, secret_data
from mlark.apps.workloads import container_images, pod_spec_references
from mlark.restorepoint.models import Edge, ExternalRef, ImageReference, ObjectRef

GROUP = "datasciencepipelinesapplications.opendatahub.io"
ARGO = "argoproj.io"


def handles(obj: Mapping[str, Any]) -> bool:
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    return (group, obj.get("kind")) in ((GROUP, "DataSciencePipelinesApplication"), (ARGO, "Workflow"))


def _storage_edges(source: ObjectRef, dspa: Mapping[str, Any], index: ObjectIndex) -> list[Edge]:
    namespace, name = source.namespace, source.name
    storage = dig(dspa, "spec", "objectStorage") or {}
    external = storage.get("externalStorage")
    edges: list[Edge] = []
    if isinstance(external, Mapping):
        if secret := dig(external, "s3CredentialsSecret", "secretName"):
            edges.append(edge(source, core("Secret", namespace, secret), "storage", index))
        if bucket := external.get("bucket"):
            edges.append(edge(source, bucket_prefix(bucket, external.get("basePath", "")), "artifacts", index))
    elif dig(storage, "minio", "deploy"):
        edges.append(edge(source, core("PersistentVolumeClaim", namespace, f"minio-{name}"), "artifacts", index))
        edges.append(edge(source, core("Secret", namespace, f"ds-pipeline-s3-{name}"), "storage", index))
    return edges


def _database_edges(source: ObjectRef, dspa: Mapping[str, Any], index: ObjectIndex) -> list[Edge]:
    namespace, name = source.namespace, source.name
    database = dig(dspa, "spec", "database") or {}
    external = database.get("externalDB")
    if isinstance(external, Mapping):
        uri = f"mysql://{external.get('host', '')}:{external.get('port', '3306')}/{external.get('pipelineDBName', 'mlpipeline')}"
        edges = [edge(source, ExternalRef(type="database", uri=uri), "database", index)]
        if secret := dig(external, "passwordSecret", "name"):
            edges.append(edge(source, core("Secret", namespace, secret), "database-secret", index))
        return edges
    mariadb = database.get("mariaDB") or {}
    if database and not mariadb.get("deploy", True):
        return []
    secret = dig(mariadb, "passwordSecret", "name") or f"ds-pipeline-db-{name}"
    db_name = mariadb.get("pipelineDBName", "mlpipeline")
    return [
        edge(source, core("Secret", namespace, secret), "database-secret", index),
        edge(source, core("PersistentVolumeClaim", namespace, f"mariadb-{name}"), "database-volume", index),
        edge(source, ExternalRef(type="database", uri=f"mysql://mariadb-{name}.{namespace}:3306/{db_name}"), "database", index),
    ]


def dspa_references(dspa: Obj, index: ObjectIndex) -> list[Edge]:
    source = ObjectRef.of(dspa)
    return _storage_edges(source, dspa, index) + _database_edges(source, dspa, index)


def rendered_objects(dspa: Mapping[str, Any]) -> list[ObjectRef]:
    """The regenerated (stateless) objects of a DSPA's own MariaDB."""
    name, namespace = dspa["metadata"]["name"], dspa["metadata"].get("namespace")
    if dig(dspa, "spec", "database", "externalDB") or dig(dspa, "spec", "database", "mariaDB", "deploy") is False:
        return []
    return [
        ObjectRef(group="apps", version="v1", kind="Deployment", namespace=namespace, name=f"mariadb-{name}"),
        ObjectRef(kind="Service", namespace=namespace, name=f"mariadb-{name}"),
    ]


def artifact_locations(dspa: Obj, secrets: Mapping[str, Obj]) -> list[ArtifactLocation]:
    """The pipeline artifact store (external S3 only; a deployed MinIO is captured as a volume)."""
    external = dig(dspa, "spec", "objectStorage", "externalStorage")
    if not isinstance(external, Mapping) or not external.get("bucket"):
        return []
    secret_name = dig(external, "s3CredentialsSecret", "secretName")
    host, scheme = external.get("host", ""), external.get("scheme", "https")
    port = f":{external['port']}" if external.get("port") else ""
    keys = external.get("s3CredentialsSecret") or {}
    return [
        ArtifactLocation(
            endpoint=f"{scheme}://{host}{port}" if host else None,
            bucket=external["bucket"],
            prefix=str(external.get("basePath", "")).strip("/"),
            region=external.get("region") or secret_data(secrets.get(secret_name or "")).get("AWS_DEFAULT_REGION"),
            credentials=core("Secret", dspa["metadata"].get("namespace"), secret_name) if secret_name else None,
            access_key_field=keys.get("accessKey", "AWS_ACCESS_KEY_ID"),
            secret_key_field=keys.get("secretKey", "AWS_SECRET_ACCESS_KEY"),
        )
    ]


def workflow_references(workflow: Obj, index: ObjectIndex) -> list[Edge]:
    """A Workflow runs as `pipeline-runner-<dspa>`: that names its pipeline server."""
    source = ObjectRef.of(workflow)
    spec = workflow.get("spec") or {}
    edges = pod_spec_references(source, {"serviceAccountName": spec.get("serviceAccountName"), "volumes": spec.get("volumes")}, index)
    account = str(spec.get("serviceAccountName") or "")
    if account.startswith("pipeline-runner-"):
        dspa = ObjectRef(group=GROUP, version="v1", kind="DataSciencePipelinesApplication", namespace=source.namespace, name=account.removeprefix("pipeline-runner-"))
        edges.append(edge(source, dspa, "pipeline-server", index))
    return edges


def references(obj: Obj, index: ObjectIndex) -> list[Edge]:
    if obj.get("kind") == "Workflow":
        return workflow_references(obj, index)
    return dspa_references(obj, index)


def images(obj: Obj) -> list[ImageReference]:
    if obj.get("kind") != "Workflow":
        return []
    # Each template with a container is one step image; the container is named by its template.
    containers = [
        {**template["container"], "name": template.get("name", "")}
        for template in dig(obj, "spec", "templates") or []
        if isinstance(template.get("container"), Mapping)
    ]
    return container_images(ObjectRef.of(obj), {"containers": containers})
