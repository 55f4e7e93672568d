"""The pod simulator: what a kubelet would do for the pods that kwok fakes.

kwok gives pods a phase and an IP; it runs nothing. For the pods whose behaviour mlark
depends on, the simulator runs the real thing on loopback: a MariaDB or PostgreSQL whose
data directory is the pod's PersistentVolume, an MLServer fed by the pod's storage
initializer. It also provisions local PersistentVolumes and tells kwok (through its Exec
and PortForward objects) where `kubectl exec` and port-forward of each pod must go, so
mlark reaches pod data through the real API server exactly as on a real cluster.

Planning (pure, in `plan.py`) is kept apart from acting (`agent.py`, `provisioner.py`).
"""
