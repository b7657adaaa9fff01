"""Local emulations of HubSpot and Uspacy over real HTTP on loopback.

Tests, the demo and local development reach the outside CRMs only through these
emulations, so they follow HubSpot's and Uspacy's API documentation to the
field name. Nothing here imports the rest of the app: it stands in for the world.
"""

from app.sandbox.clock import Clock, ManualClock, SystemClock
from app.sandbox.hubspot.sandbox import HubSpotSandbox
from app.sandbox.uspacy.sandbox import UspacySandbox

__all__ = ["Clock", "HubSpotSandbox", "ManualClock", "SystemClock", "UspacySandbox"]
