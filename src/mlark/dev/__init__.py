"""The local development and test environment: real control plane, S3, databases, model server."""
