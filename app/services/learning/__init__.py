"""Learning use cases: clients and profiles, outcomes, and the weights they publish."""
