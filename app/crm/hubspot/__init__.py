"""The HubSpot adapter: OAuth, API client, webhooks and the developer project."""
