"""HubSpot emulation: OAuth, CRM v3/v4, rate limits, webhooks and a control API."""
