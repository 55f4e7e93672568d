"""Repository benchmark: mlark side by side with restic, borg and kopia."""
