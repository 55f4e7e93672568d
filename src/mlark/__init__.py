"""mlark: backup, restore and recovery proof for AI/ML platforms on Kubernetes."""

__version__ = "0.1.0"
