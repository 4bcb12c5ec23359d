"""Counting as the plans count: one status per 主要目标 (goal), not per indicator.

The two plans have 145 主要目标 (妇女 75, 儿童 70). Each catalogue entry names the goal it
measures (``goal: C1.3``; ``null`` for an indicator from a 策略措施 paragraph, which is
shown in its domain but not counted). The rule, written for officials in
``docs/status_rules.md`` (四、目标计数):

* **A goal with several indicators counts once.** Its status is the worst status among its
  assessed indicators, in the order 难以实现 > 有风险 > 已达标但可能回落 > 按期可达 > 已达标;
  数据不足 only when none of its indicators has a judgement. A goal some of whose
  indicators have no data is flagged ``partial`` (部分指标暂无数据).
* **A goal in both plans counts once, shown under both.** Two goals (one per plan) are the
  same goal when their monitorable indicators measure the same quantities (``same_as``):
  九年义务教育巩固率 (W2.4 = C3.3), 高中阶段教育毛入学率 (W2.5 = C3.4). The counting key
  names both ("C3.3=W2.4"), so 143 goals are counted.
* Goals with no monitorable indicator (定性目标) and goals not measured at the region's
  level are 不评估 (``not_assessed``): counted in the total, never in a status.

:func:`goal_status` gives one row per counted goal; :func:`goal_counts` the headline
counts. The brief, the index, the app and the CLI all call :func:`goal_counts`.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

from .vocab.labels import STATUS_LABELS

__all__ = ["Goal", "GOAL_STATUS_ORDER", "GOAL_STATUS_ZH", "goals", "goal_of", "goal_status",
           "goal_counts", "counts_sentence", "with_two_columns"]

#: Headline statuses of a goal, best first (``not_assessed``: qualitative or not measured here).
GOAL_STATUS_ORDER = ["achieved", "may_slip", "on_track", "at_risk", "off_track",
                     "insufficient", "not_assessed"]
GOAL_STATUS_ZH = {**{k: STATUS_LABELS[k] for k in GOAL_STATUS_ORDER if k in STATUS_LABELS},
                  "not_assessed": "定性或本级不评估"}
#: Worst first: a goal takes the first of these any of its indicators has.
_WORST_FIRST = ["off_track", "at_risk", "may_slip", "on_track", "achieved"]


@dataclass(frozen=True)
class Goal:
    """One counted 主要目标 (two plan goals when it is in both plans)."""

    key: str                    # "C1.3", or "C3.3=W2.4" for a goal in both plans
    ids: tuple[str, ...]        # the plan goals it stands for ("C3.3", "W2.4")
    domains: tuple[str, ...]    # their domain codes
    number: int                 # goal number in the first plan goal's domain
    text: str                   # the plan's wording (first plan goal)
    indicators: tuple[str, ...]  # catalogue ids of every indicator of every plan goal


@lru_cache(maxsize=1)
def goals() -> tuple[Goal, ...]:
    """Every counted 主要目标, in catalogue order (145 plan goals → 143 counted)."""
    from .indicator_catalog import indicators

    by_goal: dict[str, list] = {}
    for ind in indicators():
        if ind.goal:
            by_goal.setdefault(ind.goal, []).append(ind)

    def quantities(gid: str) -> frozenset:
        return frozenset(i.data_id for i in by_goal[gid] if i.monitorable)

    merged: dict[str, str] = {}      # women's goal id -> children's goal id
    for gid, inds in by_goal.items():
        if not gid.startswith("W") or not quantities(gid):
            continue
        for other in {by_goal_id for i in inds if i.same_as
                      for by_goal_id in [_goal_id(i.same_as)] if by_goal_id}:
            if quantities(other) == quantities(gid):
                merged[gid] = other
    partner = {v: k for k, v in merged.items()}
    out = []
    for gid, inds in by_goal.items():
        if gid in merged:
            continue
        ids = (gid, partner[gid]) if gid in partner else (gid,)
        all_inds = tuple(i.id for g in ids for i in by_goal[g])
        out.append(Goal("=".join(ids), ids, tuple(g.split(".")[0] for g in ids),
                        inds[0].source_number, inds[0].source_text, all_inds))
    return tuple(out)


def _goal_id(indicator_id: str) -> str | None:
    from .indicator_catalog import indicator

    return indicator(indicator_id).goal


def goal_of(indicator_id: str) -> Goal | None:
    """The counted goal an indicator belongs to (None for a 策略措施 indicator)."""
    return _by_indicator().get(indicator_id)


@lru_cache(maxsize=1)
def _by_indicator() -> dict[str, Goal]:
    return {i: g for g in goals() for i in g.indicators}


# ------------------------------------------------------------------ two-column status
def with_two_columns(a: pd.DataFrame) -> pd.DataFrame:
    """The assessment, checked to carry the two-column status (``current_code``,
    ``outlook_code``, and ``may_slip`` in ``status_code``) the engine returns."""
    missing = {"current_code", "outlook_code"} - set(a.columns)
    if missing:
        raise ValueError(f"assessment lacks the two-column status: {sorted(missing)}")
    return a


# ------------------------------------------------------------------ goal status
def goal_status(a: pd.DataFrame) -> pd.DataFrame:
    """各主要目标的状态 — one row per counted goal of an assessment (one region, one year).

    Args:
        a: the rows of ``wa.assess`` for one region and year.

    Returns:
        A DataFrame with columns key, ids, domains, status_code, status (Chinese), p_meet
        (lowest of its indicators), partial (some indicators without data), n_indicators,
        worst (the indicator that sets the status). A goal takes the worst status of its
        indicators (rule: docs/status_rules.md §四).
    """
    a = with_two_columns(a)
    # plain Python over the two columns (a pandas selection per goal cost ≈0.3 s a brief)
    rows_of: dict[str, list[tuple[str, float]]] = {}
    for ind, code, p in zip(a["indicator"], a["status_code"], a["p_meet"]):
        rows_of.setdefault(ind, []).append((code, _float(p)))
    rows = []
    for g in goals():
        sub = [(i, code, p) for i in g.indicators for code, p in rows_of.get(i, ())]
        assessed = [r for r in sub if r[1] != "not_applicable"]
        judged = [r for r in assessed if r[1] in _WORST_FIRST]
        if not assessed:
            code, worst = "not_assessed", None
        elif not judged:
            code, worst = "insufficient", assessed[0][0]
        else:
            code = next(s for s in _WORST_FIRST if any(r[1] == s for r in judged))
            cand = [r for r in judged if r[1] == code]
            known = [r for r in cand if r[2] == r[2]]
            worst = min(known, key=lambda r: r[2])[0] if known else cand[0][0]
        ps = [r[2] for r in assessed if r[2] == r[2]]
        rows.append({"key": g.key, "ids": g.ids, "domains": g.domains, "status_code": code,
                     "status": GOAL_STATUS_ZH[code], "p_meet": min(ps) if ps else float("nan"),
                     "partial": bool(judged and any(r[1] == "insufficient" for r in assessed)),
                     "n_indicators": len(assessed), "worst": worst})
    return pd.DataFrame(rows)


def _float(x) -> float:
    """A probability as a float (NaN for None / NA)."""
    try:
        return float("nan") if x is None or pd.isna(x) else float(x)
    except (TypeError, ValueError):
        return float("nan")


def goal_counts(a: pd.DataFrame, *, status: pd.DataFrame | None = None) -> dict[str, int]:
    """主要目标按状态计数 — headline counts over the counted 主要目标.

    Args:
        a: the rows of ``wa.assess`` for one region and year.
        status: ``goal_status(a)`` when the caller has it already (the brief reuses it).

    Returns:
        ``{status_code: n}`` in GOAL_STATUS_ORDER, plus ``total``. The one function the
        brief, the index, the app and the CLI use.
    """
    g = goal_status(a) if status is None else status
    c = g.status_code.value_counts()
    out = {k: int(c.get(k, 0)) for k in GOAL_STATUS_ORDER}
    out["total"] = int(len(g))
    return out


def counts_sentence(c: dict[str, int]) -> str:
    """The counts as the one Chinese line the app and the CLI show (the brief's labels):
    "主要目标 143 项（同时列入两个规划的目标计一次）：已实现 5 项，……，定性或本级不评估 92 项"."""
    parts = "，".join(f"{GOAL_STATUS_ZH[k]} {int(c.get(k, 0))} 项" for k in GOAL_STATUS_ORDER)
    return f"主要目标 {int(c['total'])} 项（同时列入两个规划的目标计一次）：{parts}"
