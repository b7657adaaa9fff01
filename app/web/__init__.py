"""Public HTTP surfaces: the scoring API, the Config API, CRM callbacks and webhooks."""
