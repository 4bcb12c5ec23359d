"""Status, probability of meeting the target, and early warnings, one row per indicator —
for one region: the public face of the assessment engine.

``assess(region, year)`` reads the database; ``assess_frame(obs, region, year)`` does the
same on any observations-shaped DataFrame (the store's columns). Both are the one-region
case of :func:`wuwei_analysis.engine.assess_many`, which is the one implementation of the
status decisions, warning signals and sentences:

- the thresholds and the decision (现状 ``current_code``, 2030年展望 ``outlook_code``, the
  combined ``status_code``): :mod:`wuwei_analysis.engine.rules` (``STATUS_RULES``);
- warning signals and the mid-term / final progress rule: :mod:`wuwei_analysis.engine.assess_many`;
- every sentence (``reason``, ``warnings``): :mod:`wuwei_analysis.vocab.messages`;
- labels, colours: :mod:`wuwei_analysis.vocab.labels`; numbers: :mod:`wuwei_analysis.vocab.numbers`.

``docs/status_rules.md`` explains the rules to officials in Chinese.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .engine.rules import (  # noqa: F401  (re-exported: the public names of the rules)
    ASSESS_COLUMNS, KINDS, STATUS_RULES, status_for_progress, status_for_threshold,
    status_for_trend,
)
from .vocab.labels import (  # noqa: F401
    CURRENT_LABELS, OUTLOOK_LABELS, STATUS_LABELS, WARNING_LABELS,
)

if TYPE_CHECKING:
    import pandas as pd

#: Combined status code → Chinese label (the same as ``STATUS_LABELS``).
STATUS_ZH = STATUS_LABELS


def assess_frame(obs: "pd.DataFrame", region: str = "武威市", year: int | None = None, *,
                 indicators=None, kind: str = "annual", forecasts: dict | None = None,
                 engine: str = "auto") -> "pd.DataFrame":
    """Assess every catalogue indicator (or ``indicators``) for a region from ``obs``.

    Args:
        obs: observations with the store's columns (indicator, region, region_code, year,
            sex, urban_rural, age_group, value, numerator, denominator, illustrative,
            provisional, low_trust, recorded_at …); all regions may be included (needed for
            between-county gaps).
        region: name, alias or code.
        year: report year — only data up to it is used. Default: the latest year with data
            for the region (annual), 2025 (midterm), 2030 (final).
        indicators: ids / names / Indicator objects to assess (default: the whole
            catalogue, qualitative goals included as not_applicable).
        kind: "annual", "midterm" or "final" (see ``docs/status_rules.md``).
        forecasts: if a dict is given, the forecast table behind each assessed row is put
            in it (``{indicator id: DataFrame year, mean, lo80 … hi95}``, attrs ``model``,
            ``model_zh``, ``p_meet``, ``target_year``, ``threshold``, ``illustrative``), so
            a chart shows exactly the forecast the status rests on, without fitting again.
        engine: as :func:`~wuwei_analysis.engine.assess_many` ("auto": statsmodels one
            series at a time for few series, the vectorised models for many — equal fits).

    Returns:
        One row per indicator, columns ASSESS_COLUMNS; ``attrs``: region, year, kind, rules.
    """
    from .engine.assess_many import assess_many
    from .geography import region as find_region

    reg = find_region(region)
    many = assess_many(obs, [reg.code], year, kind=kind, indicators=indicators,
                       engine=engine, forecasts=forecasts)
    df = many[list(ASSESS_COLUMNS)].reset_index(drop=True)
    df["eval_year"] = df["eval_year"].astype("Int64")
    df.attrs = {"region": reg.name, "year": int(many.attrs["years"][reg.code]), "kind": kind,
                "rules": dict(STATUS_RULES)}
    return df


def assess(region: str = "武威市", year: int | None = None, *, db=None, indicators=None,
           kind: str = "annual") -> "pd.DataFrame":
    """评估一个地区的全部指标 — status, p_meet and warnings for every indicator of a region.

    Reads all observations (every region and breakdown: between-county and urban–rural
    gaps need them) and calls :func:`assess_frame`.

    Args:
        region: region name, alias or code ("古浪县", "620622"); default 武威市.
        year: the monitoring year (data after it are ignored); None = the latest year.
        db: database path, sqlite3 connection, or None for the default database.
        indicators: ids / names to assess (default: every goal of both plans).
        kind: "annual" (default), "midterm" (2025) or "final" (2030) evaluation rules.

    Returns:
        One row per indicator, columns ``ASSESS_COLUMNS``: indicator, name_zh, domain,
        domain_code, plan, unit, region, latest_year, latest_value, target_kind,
        target_value, target_year, target_text, status_code, status (Chinese),
        current_code / current (现状), outlook_code / outlook (2030年展望), p_meet,
        forecast_value (point forecast, the median, in the target year), forecast_lo80,
        forecast_hi80, required_annual_change, observed_annual_change, required_aarr,
        observed_aarr, model, warnings, warning_codes, illustrative, n_points, reason
        (Chinese), threshold, base_value, path_value, progress_ratio, eval_year,
        pooled_value / pooled_years / pooled_events (a rate on < 20 events in its latest
        year: its pooled rate of the last 3 years, on which 现状 rests), trend_p (two-sided
        p of the trend slope; ≥ 0.05: the reason says it cannot be told from flat).
        ``attrs``: region, year, kind, rules.
    """
    from .database import observations

    obs = observations(breakdown="all", db=db)
    return assess_frame(obs, region, year, indicators=indicators, kind=kind)
