"""Data services of the local environment: S3 (SeaweedFS), PostgreSQL, MariaDB, Redis.

Each service has a launcher that takes a daemon name, a data directory and a port, so the
same code starts the environment's shared instances and the per-pod instances of the pod
simulator (whose data directory is a PersistentVolume directory).
"""
