"""The refit benchmark's verdict and table (refit_scale.py measures).

The thresholds are the requirement: the refit of every client of 10,000 in at
most 20 minutes and 1 GB, per run.
"""

MAX_SECONDS = 20 * 60  # per refit run of every client
MAX_RSS_BYTES = 1_000_000_000  # peak resident memory of the refitting process
RUNS = ("first refit", "hourly refit")


def failures(runs: list[dict]) -> list[str]:
    """What breaks the requirement (empty when the runs pass)."""
    found = []
    for name, run in zip(RUNS, runs, strict=False):
        seconds = run.get("estimated_seconds", run["seconds"])
        if run.get("stopped"):
            found.append(f"run '{name}' was stopped after {seconds:.0f} s")
        elif seconds > MAX_SECONDS:
            found.append(f"run '{name}' took {seconds:.0f} s > {MAX_SECONDS}")
        if run["peak_rss_bytes"] > MAX_RSS_BYTES:
            found.append(
                f"run '{name}' peaked at {run['peak_rss_bytes'] / 1e6:.0f} MB RSS "
                f"> {MAX_RSS_BYTES / 1e6:.0f}"
            )
    if len(runs) < len(RUNS):
        found.append("the second run did not start: the first was stopped")
    elif not runs[-1].get("stopped") and runs[-1]["similar_clients"] == 0:
        found.append("no client was served similar_clients: pooling was not measured")
    return found


def render(population: dict, runs: list[dict]) -> str:
    """The report printed for a person."""
    lines = [
        f"population: {population['clients']} clients, {population['outcomes']} "
        f"outcomes, built in {population['seconds']} s",
        "run                | seconds | clients/s | peak RSS MB | tracemalloc MB "
        "| versions | similar_clients | personalised | digest",
    ]
    for name, run in zip(RUNS, runs, strict=False):
        row = {key: "-" for key in ("clients_per_s", "similar_clients", "digest")}
        row |= {"personalised": "-", "tracemalloc_peak_bytes": None, **run}
        seconds = f"{run['seconds']:.1f}" + ("+" if run.get("stopped") else "")
        traced = row["tracemalloc_peak_bytes"]
        lines.append(
            f"{name:<18} | {seconds:>7} | {row['clients_per_s']:>9} | "
            f"{run['peak_rss_bytes'] / 1e6:>11.0f} | "
            f"{'-' if traced is None else f'{traced / 1e6:.0f}':>14} | "
            f"{row['versions_published']:>8} | {row['similar_clients']:>15} | "
            f"{row['personalised']:>12} | {row['digest']}"
        )
        if "estimated_seconds" in run:
            lines.append(
                f"{'':<18}   {run['clients']} sampled clients; all of them: "
                f"~{run['estimated_seconds']:.0f} s"
            )
    return "\n".join(lines)
