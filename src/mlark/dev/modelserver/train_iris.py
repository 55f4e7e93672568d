"""Train the scenario's iris classifier and write an MLServer model directory.

Runs inside the MLServer virtualenv (python train_iris.py OUT_DIR), never imports mlark:
the pickle must be written by the scikit-learn that will load it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import joblib
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

MODEL_NAME = "iris"
MODEL_VERSION = "v1.0.0"


def main(out_dir: Path) -> None:
    # The data set bundled with scikit-learn: no download.
    features, labels = load_iris(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(features, labels, test_size=0.2, random_state=42)
    model = RandomForestClassifier(n_estimators=10, random_state=42)
    model.fit(x_train, y_train)
    out_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, out_dir / "model.joblib")
    settings = {
        "name": MODEL_NAME,
        "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": "./model.joblib", "version": MODEL_VERSION},
    }
    (out_dir / "model-settings.json").write_text(json.dumps(settings, indent=2) + "\n")
    print(json.dumps({"accuracy": float(model.score(x_test, y_test))}))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
