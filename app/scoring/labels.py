"""Score bands and their labels; the thresholds are configurable per account."""

from dataclasses import dataclass

HOT, WARM, COOL, COLD = "Hot Lead", "Warm Lead", "Cool Lead", "Cold Lead"


@dataclass(frozen=True, slots=True)
class LabelBands:
    """Lower bounds (inclusive) of the Hot, Warm and Cool bands; below Cool is Cold."""

    hot: int = 80
    warm: int = 60
    cool: int = 40

    def __post_init__(self) -> None:
        if not 0 < self.cool < self.warm < self.hot <= 100:
            raise ValueError(
                "label thresholds must satisfy 0 < cool < warm < hot <= 100, "
                f"got cool={self.cool} warm={self.warm} hot={self.hot}"
            )

    def label_for(self, score: int) -> str:
        """Name the band a 0-100 score falls in."""
        if score >= self.hot:
            return HOT
        if score >= self.warm:
            return WARM
        if score >= self.cool:
            return COOL
        return COLD

    def table(self) -> tuple[str, ...]:
        """Labels indexed by score 0..100, for lookups on the hot path."""
        return tuple(self.label_for(score) for score in range(101))


DEFAULT_BANDS = LabelBands()
