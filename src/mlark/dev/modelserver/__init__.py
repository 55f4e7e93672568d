"""Model serving of the local environment: MLServer with the iris model from S3."""
