"""Package data of the scenario: data (a package so that wheels carry its files)."""
