"""The repository: a deduplicating, compressed, encrypted store for restore points.

It knows nothing about Kubernetes. See docs/repository-format.md.
"""
