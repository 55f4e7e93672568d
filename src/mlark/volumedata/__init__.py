"""Moving PersistentVolume data in and out of a cluster through the API server.

A short-lived mover pod mounts the claim at MOUNT_PATH (its working directory) and mlark
runs `tar` in it by exec, streaming the archive over the API server's exec channel: no
node access, no network path to the pod, the same on any conformant cluster.
"""
