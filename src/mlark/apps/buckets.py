"""Opening an application's bucket with the application's own credentials, and nothing else.

Where an ML object's files are and which Secret opens them is plugin knowledge (kserve,
pipelines); this module turns such an `ArtifactLocation` into an S3 client. The keys come
from the captured Secret the location names, never from mlark's own process: a boto3 client
built the default way falls back to the AWS_* variables, ~/.aws and the instance metadata
service, which on a backup host are the *repository's* credentials. So the session here is
built without the environment and without configuration files, the client gets explicit keys
(or is unsigned when the application asks for anonymous access), and a location whose keys
cannot be found raises `CredentialsUnavailable` before any request is made.

Building a client opens no connection; the first request does.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import Any

from mlark.apps.base import ArtifactLocation, Obj, secret_data
from mlark.restorepoint.models import ObjectRef


class CredentialsUnavailable(Exception):
    """The credentials of an application's bucket cannot be resolved; the message says what is missing."""


def artifact_locations(objects: Iterable[Obj]) -> dict[ArtifactLocation, list[ObjectRef]]:
    """Every S3 location the captured ML objects point at, with the objects pointing at it."""
    from mlark.apps import kserve, pipelines

    objects = list(objects)
    secrets: dict[str, dict[str, Obj]] = {}
    accounts: dict[str, dict[str, Obj]] = {}
    for obj in objects:
        if obj.get("apiVersion") == "v1" and obj.get("kind") in ("Secret", "ServiceAccount"):
            into = secrets if obj["kind"] == "Secret" else accounts
            into.setdefault(obj["metadata"].get("namespace") or "", {})[obj["metadata"]["name"]] = obj
    found: dict[ArtifactLocation, list[ObjectRef]] = {}
    for obj in objects:
        namespace = obj["metadata"].get("namespace") or ""
        if kserve.handles(obj) and obj["kind"] == "InferenceService":
            locations = kserve.artifact_locations(obj, secrets.get(namespace, {}), accounts.get(namespace, {}))
        elif obj.get("kind") == "DataSciencePipelinesApplication":
            locations = pipelines.artifact_locations(obj, secrets.get(namespace, {}))
        else:
            continue
        for location in locations:
            found.setdefault(location, []).append(ObjectRef.of(obj))
    return found


def access_keys(location: ArtifactLocation, secrets: dict[tuple[str, str], Obj]) -> tuple[str, str] | None:
    """(access key, secret key) of `location`, or None for anonymous access.

    `secrets` maps (namespace, name) to the captured Secrets. Raises CredentialsUnavailable.
    """
    if location.anonymous:
        return None
    if location.missing:
        raise CredentialsUnavailable(location.missing)
    if location.credentials is None:
        raise CredentialsUnavailable("no Secret with access keys is known for it")
    ref = location.credentials
    secret = secrets.get((ref.namespace or "", ref.name))
    if secret is None:
        raise CredentialsUnavailable(f"its credentials Secret {ref.namespace}/{ref.name} is not in the restore point")
    values = secret_data(secret)
    if location.credentials_entry is not None:
        values = _json_entry(values, location.credentials_entry, ref)
    access, secret_key = values.get(location.access_key_field), values.get(location.secret_key_field)
    if not access or not secret_key:
        lacking = [field for field, value in ((location.access_key_field, access), (location.secret_key_field, secret_key)) if not value]
        where = f"{ref.namespace}/{ref.name}" + (f" key {location.credentials_entry}" if location.credentials_entry else "")
        raise CredentialsUnavailable(f"Secret {where} has no {' or '.join(lacking)}")
    return str(access), str(secret_key)


def _json_entry(values: dict[str, str], entry: str, ref: ObjectRef) -> dict[str, str]:
    """The JSON object under `entry` of a KServe storage-config Secret."""
    if entry not in values:
        raise CredentialsUnavailable(f"Secret {ref.namespace}/{ref.name} has no key {entry}")
    try:
        parsed = json.loads(values[entry])
    except json.JSONDecodeError as error:
        raise CredentialsUnavailable(f"Secret {ref.namespace}/{ref.name} key {entry} is not JSON: {error}") from error
    if not isinstance(parsed, dict):
        raise CredentialsUnavailable(f"Secret {ref.namespace}/{ref.name} key {entry} is not a JSON object")
    return {str(k): str(v) for k, v in parsed.items() if v is not None}


class BucketAccess:
    """S3 clients for the locations of one set of captured objects, each with its own keys."""

    def __init__(self, objects: Iterable[Obj], *, connect_timeout: float = 5) -> None:
        self.secrets: dict[tuple[str, str], Obj] = {}
        objects = list(objects)
        for obj in objects:
            if obj.get("apiVersion") == "v1" and obj.get("kind") == "Secret":
                self.secrets[(obj["metadata"].get("namespace") or "", obj["metadata"]["name"])] = obj
        self.locations = artifact_locations(objects)
        self.connect_timeout = connect_timeout
        self._clients: dict[ArtifactLocation, Any] = {}

    def find(self, endpoint: str | None, bucket: str) -> ArtifactLocation | None:
        """A known location of `bucket` at `endpoint` (one whose credentials resolve, if any does)."""
        candidates = [location for location in self.locations if location.endpoint == endpoint and location.bucket == bucket]
        return next((c for c in candidates if self.resolvable(c)), candidates[0] if candidates else None)

    def find_bucket(self, bucket: str) -> ArtifactLocation | None:
        """A known location of `bucket` at any endpoint (for URIs that name no endpoint)."""
        candidates = [location for location in self.locations if location.bucket == bucket]
        return next((c for c in candidates if self.resolvable(c)), candidates[0] if candidates else None)

    def resolvable(self, location: ArtifactLocation) -> bool:
        try:
            access_keys(location, self.secrets)
        except CredentialsUnavailable:
            return False
        return True

    def client(self, location: ArtifactLocation) -> Any:
        """The client of `location`. Raises CredentialsUnavailable (no request made then)."""
        if location not in self._clients:
            self._clients[location] = s3_client(location, access_keys(location, self.secrets), self.connect_timeout)
        return self._clients[location]


def s3_client(location: ArtifactLocation, keys: tuple[str, str] | None, connect_timeout: float = 5) -> Any:
    """A client that uses exactly `keys` (None: unsigned requests) and `location`'s endpoint."""
    from botocore import UNSIGNED
    from botocore.config import Config

    config = Config(
        s3={"addressing_style": "path"}, retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=connect_timeout,
        # AWS_ENDPOINT_URL and `endpoint_url` in a config file would redirect a location
        # without an endpoint of its own (AWS) to wherever mlark's own bucket is.
        ignore_configured_endpoint_urls=True,
        signature_version=UNSIGNED if keys is None else None,
    )
    import boto3.session

    access, secret = keys if keys is not None else (None, None)
    # boto3 over the isolated botocore session: boto3 adds upload_fileobj and the paginators.
    return boto3.session.Session(botocore_session=_isolated_session()).client(
        "s3", endpoint_url=location.endpoint, region_name=location.region or "us-east-1", verify=location.verify_ssl,
        aws_access_key_id=access, aws_secret_access_key=secret, config=config,
    )


def _isolated_session() -> Any:
    """A botocore session that reads no AWS_* variable and no ~/.aws file."""
    import botocore.session
    from botocore import configprovider

    session = botocore.session.Session()
    chains = configprovider.ConfigChainFactory(session=session, environ={})

    def mapping(variables: dict[str, Any]) -> dict[str, Any]:
        return {name: chains.create_config_chain(instance_name=name, env_var_names=env, config_property_names=config,
                                                 default=default, conversion_func=convert)
                for name, (config, env, default, convert) in variables.items()}

    store = mapping(configprovider.BOTOCORE_DEFAUT_SESSION_VARIABLES)
    store["s3"] = configprovider.SectionConfigProvider("s3", session, mapping(configprovider.DEFAULT_S3_CONFIG_VARS))
    store["proxies_config"] = configprovider.SectionConfigProvider(
        "proxies_config", session, mapping(configprovider.DEFAULT_PROXIES_CONFIG_VARS))
    session.register_component("config_store", configprovider.ConfigValueStore(mapping=store))
    # The files' defaults are ~/.aws/config and ~/.aws/credentials: point them at nothing.
    session.set_config_variable("config_file", os.devnull)
    session.set_config_variable("credentials_file", os.devnull)
    return session
