"""HubSpot's calculated deal properties: what a stage change sets by itself."""

from app.sandbox.hubspot.model import Account, Record
from app.sandbox.hubspot.values import iso


def deal_outcome(
    account: Account, record: Record, values: dict[str, str], now: float
) -> dict:
    """HubSpot's calculated deal properties for a new stage. Moving a deal
    into a closed-won or closed-lost stage (also won ↔ lost, but not won →
    won) sets its close date to now, unless the same change sets one."""
    found = account.pipeline_of_stage(values.get("dealstage") or "")
    if not found:
        return {}
    metadata = found[1]["metadata"]
    won = metadata["isClosed"] == "true" and float(metadata["probability"]) == 1
    values.setdefault("pipeline", found[0]["id"])
    calculated = {
        "hs_is_closed": metadata["isClosed"],
        "hs_is_closed_won": "true" if won else "false",
        "hs_deal_stage_probability": metadata["probability"],
    }
    closed = "won" if won else "lost" if metadata["isClosed"] == "true" else None
    before = account.pipeline_of_stage(record.properties.get("dealstage") or "")
    if closed and "closedate" not in values:
        was = before and before[1]["metadata"]
        was_closed = (
            None
            if not was or was["isClosed"] != "true"
            else "won"
            if float(was["probability"]) == 1
            else "lost"
        )
        if was_closed != closed:
            calculated["closedate"] = iso(now)
    return calculated
