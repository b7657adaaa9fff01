"""Background jobs: the Huey instance (built by the app factory) and thin tasks."""
