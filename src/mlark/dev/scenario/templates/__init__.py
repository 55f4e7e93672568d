"""Package data of the scenario: templates (a package so that wheels carry its files)."""
