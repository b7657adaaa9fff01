"""Text rendering of the learning benchmark's report (learning_quality.py)."""

BANDS = ("Hot Lead", "Warm Lead", "Cool Lead", "Cold Lead")
KINDS = ("served", "anchor", "best_sum", "default")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _cell(fig: dict | None) -> str:
    return "-" if fig is None else f"{fig['mean']:.3f}±{fig['se']:.3f}"


def render(report: dict, results: list[tuple[str, bool, str]], held_out: int) -> str:
    """The figures tables and the checks as text."""
    lines = [
        f"Learning quality, seeds {report['seeds'][0]}-{report['seeds'][-1]} "
        f"({len(report['seeds'])}), expected ROC-AUC on {held_out} held-out "
        "leads, mean ± SE over seeds",
    ]
    for name, s in report["scenarios"].items():
        lines += [
            "",
            f"{name}  (newcomer prior: {', '.join(s['newcomer']['methods'])};"
            f" gap default -> best_sum closed {_pct(s['newcomer']['gap_closed'])}"
            f" ± {_pct(s['newcomer'].get('gap_closed_se'))}"
            f" over {s['newcomer'].get('newcomers')} newcomers,"
            " plain NN logistic on pooled won/lost"
            f" {_pct(s['newcomer'].get('gap_closed_pooled_lr'))}, shared truth"
            f" {_pct(s['newcomer'].get('gap_closed_shared_truth'))})",
        ]
        lines.append("  own | " + " | ".join(f"{k:>13}" for k in KINDS))
        for n, row in s["by_own_outcomes"].items():
            lines.append(
                f"{n:>5} | " + " | ".join(f"{_cell(row[k]):>13}" for k in KINDS)
            )
        lines.append(
            "bands (served at the largest size, base rate "
            f"{s['base_rate']:.1%}): "
            + "; ".join(
                f"{b.split()[0]} {s['bands'][b]['share']:.1%} leads "
                f"{_pct(s['bands'][b]['conversion'])} conv"
                for b in BANDS
            )
        )
    lines.append("")
    lines += [f"[{'PASS' if ok else 'FAIL'}] {n}: {f}" for n, ok, f in results]
    return "\n".join(lines)
