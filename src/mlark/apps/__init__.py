"""One plugin per application kind (kserve, notebook, pipelines, modelregistry, databases, ...)."""
