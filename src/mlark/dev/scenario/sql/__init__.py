"""Package data of the scenario: sql (a package so that wheels carry its files)."""
