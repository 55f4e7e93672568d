"""Package data of the scenario: crds (a package so that wheels carry its files)."""
