"""Recovery time (RTO) of the seed scenario on the local cluster (issue 4)."""
