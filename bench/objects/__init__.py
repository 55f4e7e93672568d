"""Capture and restore of many Kubernetes objects (issue 3's benchmark)."""
