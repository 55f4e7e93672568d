"""`python -m mlark.dev.simulator --cluster NAME`: run the pod simulator of one local cluster."""

from __future__ import annotations

import argparse
import logging

from mlark.dev.cluster import Cluster
from mlark.dev.ports import simulated_pod_port_range
from mlark.dev.simulator.agent import PodSimulator
from mlark.kube.client import api_client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cluster", required=True)
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    cluster = Cluster(arguments.cluster)
    simulator = PodSimulator(
        cluster.name, api_client(cluster.kubeconfig), cluster.directory / "simulator",
        simulated_pod_port_range(cluster.name),
    )
    simulator.run_forever()


main()
