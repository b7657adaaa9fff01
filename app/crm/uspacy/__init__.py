"""The Uspacy adapter: per-portal REST client, field setup, mapping, funnels,
webhook registration and token refresh."""
