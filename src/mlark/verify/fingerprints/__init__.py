"""One module per fingerprint kind. Each has `targets(context) -> list[Fingerprint]` (pure: what
to fingerprint, from the captured objects and the manifest; data left empty) and
`measure(context, fingerprint) -> dict` (talks to the cluster; may raise: the caller records
the error in the fingerprint)."""
