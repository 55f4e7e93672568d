"""Access to the Kubernetes API: the only package that talks to a cluster.

Modules, one job each (import from them directly):

    client      api_client(kubeconfig, context) -> ApiClient
    errors      KubeError and its family (forbidden, not found, conflict, unreachable ...)
    rest        raw JSON requests with error translation
    discovery   resource types served (CRDs included), preferred versions, kind <-> plural
    listing     paginated, concurrent lists as plain dicts
    sanitize    pure: strip cluster-assigned fields, skip cluster-generated objects, re-link owners
    exec        commands in pods with streaming binary stdin/stdout
    portforward a socket or one HTTP request to a pod port through the API server
    apply       create with a conflict policy (skip/update/fail), get, delete, wait_for

See docs/kube-access.md.
"""
