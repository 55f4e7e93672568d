"""The demo scenario: a local rendition of an OpenShift AI data science project (seed 000).

Data lives apart from cluster talk: `crds/`, `templates/`, `sql/` and `data/` say *what* to
create; render.py, seeds.py and notebook.py turn them into objects and statements (pure);
kube.py, pods.py, bucket.py, deploy.py and report.py talk to the cluster and to S3.
"""

from mlark.dev.scenario.spec import SCENARIO_NAMES, DatabaseRef, ScenarioInfo, UnknownScenario, check_name

__all__ = ["SCENARIO_NAMES", "DatabaseRef", "ScenarioInfo", "UnknownScenario", "check_name"]
