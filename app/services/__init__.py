"""Use cases. The only layer that combines models, CRM adapters, personalization and
scoring, and the only one that commits."""
