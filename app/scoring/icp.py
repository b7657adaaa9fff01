"""The ideal customer profile an account states: target verticals and company sizes."""

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from app.scoring.fields import LeadFieldError


def _casefold(industry: str) -> str | None:
    return industry.casefold() or None


@dataclass(frozen=True, slots=True)
class IdealCustomerProfile:
    """What an account sells to. Empty means "no ICP": the seed-compatible behaviour.

    `industries` holds vertical keys; `vertical_of` maps a lead's free-text industry to
    a vertical key (the taxonomy lives in the personalization layer and is injected).
    `size_range` is an inclusive employee-count range; `None` as upper bound is open.
    """

    industries: frozenset[str] = frozenset()
    size_range: tuple[int, int | None] | None = None
    vertical_of: Callable[[str], str | None] = field(default=_casefold, compare=False)

    def industry_value(self, industry: str) -> float:
        """1 when the lead's industry is one the account targets."""
        if not self.industries:
            return 1.0 if industry else 0.0
        if not industry:
            return 0.0
        return 1.0 if self.vertical_of(industry) in self.industries else 0.0

    def size_value(self, employees: float | None) -> float | None:
        """Alignment of a company size with the ICP range, or None to use seniority.

        Inside the range is 1; outside, the value falls linearly with the distance in
        orders of magnitude to the nearest bound (10x too big or small is 0).
        """
        if self.size_range is None or employees is None:
            return None
        low, high = self.size_range
        if employees < low:
            nearest = low
        elif high is not None and employees > high:
            nearest = high
        else:
            return 1.0
        ratio = max(employees, 1.0) / max(nearest, 1.0)
        return max(0.0, 1.0 - abs(math.log10(ratio)))


NO_ICP = IdealCustomerProfile()


def employee_count(value: object, field: str = "employee_count") -> float | None:
    """Read an employee count: a number, a numeric string, or a range like "25-50"
    or "1000+" (HubSpot's buckets). Ranges read as their midpoint."""
    if value is None or value == "":
        return None
    kind = type(value)
    if kind is int or kind is float:
        number = float(value)  # type: ignore[arg-type]
        return number if math.isfinite(number) and number >= 0 else None
    if kind is not str:
        raise LeadFieldError(field, "a number or a range such as 25-50")
    text = value.strip().replace(",", "").replace(" ", "")  # type: ignore[union-attr]
    if not text:
        return None
    try:
        if text.endswith("+"):
            return float(text[:-1])
        low, sep, high = text.partition("-")
        if sep and low and high:
            return (float(low) + float(high)) / 2
        number = float(text)
    except ValueError:
        raise LeadFieldError(field, "a number or a range such as 25-50") from None
    return number if math.isfinite(number) and number >= 0 else None


def parse_size_range(text: str) -> tuple[int, int | None]:
    """Parse an ICP size range such as "50-200", "1000+" or "10"."""
    cleaned = text.strip().replace(",", "").replace(" ", "")
    try:
        if cleaned.endswith("+"):
            return int(cleaned[:-1]), None
        low, sep, high = cleaned.partition("-")
        if sep:
            low_n, high_n = int(low), int(high)
            if low_n > high_n:
                raise ValueError
            return low_n, high_n
        exact = int(cleaned)
        return exact, exact
    except ValueError:
        raise ValueError(
            f"size range {text!r} must look like 50-200, 1000+ or 10"
        ) from None
