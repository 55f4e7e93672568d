"""Backup: capture everything a plan selects into one restore point.

collect (objects) → graph (references, warnings) → hooks (quiesce) → data (volumes,
database dumps, model artifacts) → hooks (resume) → write one repository snapshot.
"""
