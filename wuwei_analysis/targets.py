"""Target semantics: what it means for an indicator to meet its plan target.

Each target kind has exactly one rule (see README, "目标类型与判定规则"):

=================  ==========================  ===========================================
kind               plan wording                met when
=================  ==========================  ===========================================
at_most            降至 X 以下, 控制在 X 以内   value ≤ X
at_least           达到 X 以上, 保持在 X 以上   value ≥ X
around             保持在 X 左右                |value − X| ≤ tolerance
relative_change    以2020年为基数下降20%        value ≤ base × (1 − 20%)  (≥ for a rise)
direction          逐步提高 / 持续下降           the trend's slope has the good sign with
                                               one-sided confidence ≥ DIRECTION_CONFIDENCE
gap                城乡差距缩小                  the absolute gap's trend slopes down with
                                               the same confidence
qualitative        机制有效运行                  not evaluated from data (returns None)
=================  ==========================  ===========================================

Boundaries are inclusive ("以下"/"以上" read as ≤ / ≥, as statistical monitoring reports do),
with a tiny float tolerance so that 5.0 meets "≤ 5.0" however it was computed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Sequence

from .errors import CatalogError
from .vocab.labels import TARGET_KIND_LABELS

TargetKind = Literal[
    "at_most", "at_least", "around", "relative_change", "direction", "gap", "qualitative"
]
TARGET_KINDS: tuple[str, ...] = (
    "at_most", "at_least", "around", "relative_change", "direction", "gap", "qualitative"
)
#: Chinese labels for target kinds (the one vocabulary: vocab.labels).
TARGET_KIND_ZH = TARGET_KIND_LABELS
#: One-sided confidence that a direction / gap trend has the good sign.
DIRECTION_CONFIDENCE = 0.80
#: Fewest points a direction / gap trend is judged on.
MIN_TREND_POINTS = 3
_EPS = 1e-9


@dataclass(frozen=True)
class Target:
    """规划目标 — a plan target as the plan states it.

    Attributes:
        kind: one of TARGET_KINDS.
        value: the threshold (at_most, at_least, around); for relative_change the
            threshold is derived from the base value and ``change``.
        year: the year by which the target is to be met (2030 unless the plan says).
        direction: the good direction of the indicator: "up" or "down" (None for around).
        tolerance: for ``around``, the accepted distance from ``value`` (in the unit).
        base_year: for ``relative_change``, the base year (e.g. 2020).
        change: for ``relative_change``, the relative change, e.g. -0.20 for "下降20%".
        gap: for ``gap``, the breakdown whose gap should narrow ("urban_rural", "sex",
            "region").
        reference: an indicator id whose value is the threshold (e.g. women's share of
            party congress delegates ≥ women's share of party members).
        text: the target in words as the plan has it, e.g. "≤5.0‰".
    """

    kind: str
    value: float | None = None
    year: int = 2030
    direction: str | None = None
    tolerance: float | None = None
    base_year: int | None = None
    change: float | None = None
    gap: str | None = None
    reference: str | None = None
    text: str = ""
    extra: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in TARGET_KINDS:
            raise CatalogError(f"未知的目标类型 {self.kind!r}，应为 {', '.join(TARGET_KINDS)}")
        needs = {
            "at_most": ("value",),
            "at_least": ("value",),
            "around": ("value", "tolerance"),
            "relative_change": ("base_year", "change"),
            "direction": ("direction",),
            "gap": ("gap",),
        }.get(self.kind, ())
        for name in needs:
            if getattr(self, name) is None and not (name == "value" and self.reference):
                raise CatalogError(f"目标类型 {self.kind} 缺少 {name}")
        if self.direction not in (None, "up", "down"):
            raise CatalogError(f"方向应为 up 或 down，而不是 {self.direction!r}")

    # ------------------------------------------------------------------ thresholds
    @property
    def evaluable(self) -> bool:
        """False for qualitative targets, which data cannot decide."""
        return self.kind != "qualitative"

    @property
    def lower_is_better(self) -> bool | None:
        """True when smaller values are good; None when neither (around, qualitative)."""
        if self.kind == "at_most":
            return True
        if self.kind == "at_least":
            return False
        if self.kind == "relative_change":
            return (self.change or 0) < 0
        if self.direction in ("up", "down"):
            return self.direction == "down"
        return None

    def threshold(self, base_value: float | None = None, reference_value: float | None = None
                  ) -> float | None:
        """The numeric threshold a single value is compared with, or None if the kind has none.

        For relative_change this is ``base_value × (1 + change)``; for a ``reference``
        target it is the reference indicator's value.
        """
        if self.reference is not None and self.value is None:
            return reference_value
        if self.kind in ("at_most", "at_least", "around"):
            return self.value
        if self.kind == "relative_change":
            if base_value is None:
                return None
            return base_value * (1.0 + float(self.change))
        return None

    # ------------------------------------------------------------------ evaluation
    def meets(
        self,
        value: float | None = None,
        *,
        years: Sequence[float] | None = None,
        series: Sequence[float] | None = None,
        base_value: float | None = None,
        reference_value: float | None = None,
    ) -> bool | None:
        """Whether a value (or, for direction / gap, a series) meets the target.

        Args:
            value: the value to judge (at_most, at_least, around, relative_change).
            years, series: for direction and gap targets, the years and the values
                (for gap: the gap itself, e.g. rural minus urban, by year).
            base_value: for relative_change, the value in ``base_year``.
            reference_value: for targets with a ``reference`` indicator, its value.

        Returns:
            True or False, or None when the target cannot be judged from what was given
            (qualitative kind, a missing base value, fewer than MIN_TREND_POINTS points).
        """
        if self.kind == "qualitative":
            return None
        if self.kind in ("direction", "gap"):
            if series is None:
                return None
            return self._trend_meets(years, series)
        if value is None:
            return None
        value = float(value)
        limit = self.threshold(base_value, reference_value)
        if limit is None:
            return None
        if self.kind == "around":
            return abs(value - limit) <= float(self.tolerance) + _EPS
        if self.kind == "relative_change":
            return value <= limit + _EPS if self.change < 0 else value >= limit - _EPS
        if self.kind == "at_most":
            return value <= limit + _EPS
        return value >= limit - _EPS  # at_least

    def _trend_meets(self, years: Sequence[float] | None, series: Sequence[float]) -> bool | None:
        import math

        ys = [float(v) for v in series]
        xs = [float(x) for x in years] if years is not None else [float(i) for i in range(len(ys))]
        pairs = [(x, y) for x, y in zip(xs, ys) if not math.isnan(y)]
        if len(pairs) < MIN_TREND_POINTS:
            return None
        if self.kind == "gap":
            pairs = [(x, abs(y)) for x, y in pairs]
            good_sign = -1.0
        else:
            good_sign = 1.0 if self.direction == "up" else -1.0
        slope, p_good = trend_slope_confidence([p[0] for p in pairs], [p[1] for p in pairs],
                                               good_sign)
        return p_good >= DIRECTION_CONFIDENCE

    def describe_zh(self, unit: str = "") -> str:
        """The target in short Chinese, e.g. "≤5.0‰（2030年）"."""
        if self.text:
            return self.text
        v = "" if self.value is None else f"{self.value:g}{unit}"
        return {
            "at_most": f"≤{v}",
            "at_least": f"≥{v}",
            "around": f"{v}左右（±{self.tolerance:g}）" if self.tolerance is not None else v,
            "relative_change": f"较{self.base_year}年{'下降' if (self.change or 0) < 0 else '提高'}"
                               f"{abs(self.change or 0) * 100:g}%",
            "direction": "逐步提高" if self.direction == "up" else "持续下降",
            "gap": "差距缩小",
            "qualitative": "定性目标",
        }[self.kind]


def trend_slope_confidence(xs: Sequence[float], ys: Sequence[float], good_sign: float
                           ) -> tuple[float, float]:
    """OLS slope of ys on xs and the one-sided probability that its sign is ``good_sign``.

    The probability is the Student-t CDF of slope / se with n − 2 degrees of freedom; a
    perfect fit (se = 0) gives 1.0 or 0.0.
    """
    from scipy import stats

    n = len(xs)
    mx = sum(xs) / n
    my = sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return 0.0, 0.5
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    resid = [y - (my + slope * (x - mx)) for x, y in zip(xs, ys)]
    s2 = sum(r * r for r in resid) / (n - 2) if n > 2 else 0.0
    se = (s2 / sxx) ** 0.5
    if se == 0:
        return slope, 1.0 if slope * good_sign > 0 else 0.0
    t = slope * good_sign / se
    return slope, float(stats.t.cdf(t, df=n - 2))
