"""Scoring use cases: who a request is for, scoring a batch, and what was scored."""
