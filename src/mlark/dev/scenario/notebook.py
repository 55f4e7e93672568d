"""The workbench's notebook: Rodolfo's notes from the seed, with the cell outputs he saw (pure)."""

from __future__ import annotations

import json
from typing import Any

KERNEL = {"display_name": "Python 3.11", "language": "python", "name": "python3"}


def _markdown(*lines: str) -> dict[str, Any]:
    return {"cell_type": "markdown", "metadata": {}, "source": list(lines)}


def _code(count: int, source: list[str], output: str) -> dict[str, Any]:
    return {
        "cell_type": "code",
        "execution_count": count,
        "metadata": {},
        "source": source,
        "outputs": [{"output_type": "execute_result", "execution_count": count, "metadata": {},
                     "data": {"text/plain": [output]}}],
    }


def notebook_cells() -> list[dict[str, Any]]:
    return [
        _markdown("# Iris classifier: training notes\n", "\n", "RandomForest on the iris data set; served as `iris` on MLServer."),
        _code(1, ["from sklearn.datasets import load_iris\n",
                  "from sklearn.ensemble import RandomForestClassifier\n",
                  "from sklearn.model_selection import train_test_split\n",
                  "X, y = load_iris(return_X_y=True)\n",
                  "Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=42)\n",
                  "clf = RandomForestClassifier(n_estimators=10, random_state=42).fit(Xtr, ytr)\n",
                  "clf.score(Xte, yte)"], "1.0"),
        _code(2, ["clf.predict([[5.1, 3.5, 1.4, 0.2], [6.7, 3.1, 5.6, 2.4]])"], "array([0, 2])"),
        _markdown("## Notes\n", "\n", "This is the state I want to be able to come back to.\n",
                  "Registered as `iris-classifier` v1.0.0; pipeline run `iris-run-1` succeeded."),
    ]


def notebook_document() -> str:
    """nbformat 4 JSON, indented like Jupyter writes it."""
    document = {
        "cells": notebook_cells(),
        "metadata": {"kernelspec": KERNEL, "language_info": {"name": "python", "version": "3.11.9"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(document, indent=1) + "\n"
