"""Recovery drills: restore a restore point into a sandbox, wait until inference-ready, verify
every fingerprint, measure RTO and RPO against the plan's objectives, tear down, and append an
audit record (see mlark.audit)."""
