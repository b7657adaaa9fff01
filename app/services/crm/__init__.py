"""CRM use cases: installs, tokens, the lifecycle of installed accounts."""
