"""The indicator catalogue: every goal of both plans, loaded from YAML in ``data/catalog``.

``catalog()`` gives one row per indicator; ``indicator(key)`` looks one up by id, Chinese
name or alias. The YAML format is documented in ``data/catalog/README.md``.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import yaml

from .errors import CatalogError, UnknownIndicatorError
from .settings import CATALOG_DIR, DATA_DIR
from .targets import Target

if TYPE_CHECKING:  # pandas is imported lazily: `import wuwei_analysis` stays fast
    import pandas as pd

ID_PATTERN = re.compile(r"^[wc]_[a-z0-9]+(?:_[a-z0-9]+)*$")
PLAN_FILES = {"women": "women.yaml", "children": "children.yaml"}
DIRECTIONS = ("up", "down", "target", "none")
SECTIONS = ("主要目标", "策略措施")

_INDICATOR_FIELDS = {
    "id", "domain", "name_zh", "name_en", "unit", "direction", "target", "source",
    "levels", "breakdowns", "age_groups", "monitorable", "reporter", "reporter_inferred",
    "counts", "baselines", "definition", "aliases", "notes", "same_as", "aggregate", "goal",
}
_REQUIRED = ("id", "domain", "name_zh", "name_en", "unit", "direction", "target", "source")


@dataclass(frozen=True)
class Indicator:
    """规划指标 — one monitored indicator (or one qualitative goal) of a plan."""

    id: str
    plan: str
    domain: str                 # domain code, e.g. "C1"
    domain_zh: str
    domain_en: str
    name_zh: str
    name_en: str
    unit: str
    direction: str              # up / down / target / none
    target: Target
    source_section: str         # 主要目标 or 策略措施
    source_number: int          # goal (or strategy paragraph) number within the domain
    source_text: str            # the clause, quoted
    levels: tuple[str, ...]
    breakdowns: tuple[str, ...]
    monitorable: bool
    reporter: str
    reporter_inferred: bool
    age_groups: tuple[str, ...] = ()
    counts: dict | None = None  # {numerator: 名称, denominator: 名称} for count-based rates
    baselines: tuple[dict, ...] = ()
    definition: str = ""
    aliases: tuple[str, ...] = ()
    notes: str = ""
    same_as: str | None = None  # another entry measuring the same quantity: data are shared
    aggregate: dict | None = None  # roll-up rule as declared (see wuwei_analysis.rollup.methods)
    #: the 主要目标 this indicator measures ("C1.3" = domain C1, goal 3); None for an
    #: indicator from a 策略措施 paragraph (see wuwei_analysis.goals)
    goal: str | None = None
    extra: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def data_id(self) -> str:
        """The id under which this indicator's observations are stored (``same_as`` or own)."""
        return self.same_as or self.id

    @property
    def plan_zh(self) -> str:
        return _meta()["plans"][self.plan]["zh"]

    def meets(self, value: float | None = None, **kwargs: Any) -> bool | None:
        """Shortcut for ``self.target.meets(...)``; see :meth:`Target.meets`."""
        return self.target.meets(value, **kwargs)

    def baseline(self, year: int) -> float | None:
        """The baseline value the plan gives for ``year``, if any."""
        for b in self.baselines:
            if int(b["year"]) == int(year):
                return float(b["value"])
        return None

    def describe_target(self) -> str:
        """The target in short Chinese, e.g. "≤5.0‰（2030年）"."""
        return self.target.describe_zh(self.unit)


@lru_cache(maxsize=1)
def _meta() -> dict:
    with open(CATALOG_DIR / "_meta.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@lru_cache(maxsize=1)
def units() -> dict[str, dict]:
    """Known units: ``{unit: {zh, en, kind, scale, min, max, decimals}}``."""
    with open(DATA_DIR / "units.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _build(raw: dict, plan: str, where: str) -> Indicator:
    meta = _meta()
    missing = [k for k in _REQUIRED if k not in raw]
    if missing:
        raise CatalogError(f"指标缺少字段 {missing}", file=where, indicator=raw.get("id"))
    unknown = set(raw) - _INDICATOR_FIELDS
    if unknown:
        raise CatalogError(f"指标有未知字段 {sorted(unknown)}", file=where, indicator=raw["id"])
    iid = raw["id"]
    if not ID_PATTERN.match(iid) or iid[0] != plan[0]:
        raise CatalogError("指标编号不合规（应为 w_/c_ 开头的小写下划线形式）", file=where, indicator=iid)
    dom = meta["domains"].get(raw["domain"])
    if dom is None or dom["plan"] != plan:
        raise CatalogError(f"领域 {raw['domain']!r} 不属于该规划", file=where, indicator=iid)
    if raw["unit"] not in units():
        raise CatalogError(f"未知单位 {raw['unit']!r}", file=where, indicator=iid)
    if raw["direction"] not in DIRECTIONS:
        raise CatalogError(f"direction 应为 {DIRECTIONS}", file=where, indicator=iid)
    defaults = meta["defaults"]
    t = dict(raw["target"])
    t.setdefault("year", defaults["target_year"])
    if t.get("direction") is None and raw["direction"] in ("up", "down"):
        t["direction"] = raw["direction"]
    try:
        target = Target(**t)
    except TypeError as exc:
        raise CatalogError(f"目标字段有误：{exc}", file=where, indicator=iid) from None
    except CatalogError as exc:
        raise CatalogError(exc.message, file=where, indicator=iid) from None
    src = raw["source"]
    if src.get("section") not in SECTIONS or not src.get("text") or not src.get("number"):
        raise CatalogError("source 需要 section（主要目标/策略措施）、number 和 text", file=where,
                           indicator=iid)
    levels = tuple(raw.get("levels", defaults["levels"]))
    bad_levels = set(levels) - set(meta["levels"])
    if bad_levels:
        raise CatalogError(f"未知层级 {sorted(bad_levels)}", file=where, indicator=iid)
    breakdowns = tuple(raw.get("breakdowns", defaults["breakdowns"]))
    bad_bd = set(breakdowns) - set(meta["breakdowns"])
    if bad_bd:
        raise CatalogError(f"未知分组 {sorted(bad_bd)}", file=where, indicator=iid)
    reporter = raw.get("reporter") or dom["reporter"]
    inferred = bool(raw.get("reporter_inferred", "reporter" not in raw))
    if reporter not in meta["member_units"]:
        raise CatalogError(f"未知成员单位 {reporter!r}", file=where, indicator=iid)
    if raw.get("aggregate") is not None:
        problem = aggregate_error(raw["aggregate"], raw["unit"], raw.get("counts"))
        if problem:
            raise CatalogError(f"aggregate 有误：{problem}", file=where, indicator=iid)
    return Indicator(
        id=iid, plan=plan, domain=raw["domain"], domain_zh=dom["zh"], domain_en=dom["en"],
        name_zh=raw["name_zh"], name_en=raw["name_en"], unit=raw["unit"],
        direction=raw["direction"], target=target,
        source_section=src["section"], source_number=int(src["number"]),
        source_text=str(src["text"]).strip(),
        levels=levels, breakdowns=breakdowns,
        monitorable=bool(raw.get("monitorable", defaults["monitorable"])),
        reporter=reporter, reporter_inferred=inferred,
        age_groups=tuple(raw.get("age_groups", ())),
        counts=raw.get("counts"), baselines=tuple(raw.get("baselines", ())),
        definition=str(raw.get("definition", "")).strip(),
        aliases=tuple(raw.get("aliases", ())), notes=str(raw.get("notes", "")).strip(),
        same_as=raw.get("same_as"), aggregate=raw.get("aggregate"),
        goal=_goal(raw, src, where, iid),
    )


def _goal(raw: dict, src: dict, where: str, iid: str) -> str | None:
    """The entry's ``goal``: "<domain>.<goal number>" for a 主要目标 entry, null for a
    策略措施 one (default: derived from ``source``)."""
    derived = f"{raw['domain']}.{int(src['number'])}" if src["section"] == "主要目标" else None
    goal = raw.get("goal", derived)
    if goal != derived:
        raise CatalogError(f"goal 应为 {derived!r}（由 domain 和 source 决定），而不是 {goal!r}",
                           file=where, indicator=iid)
    return goal


@lru_cache(maxsize=1)
def indicators() -> tuple[Indicator, ...]:
    """全部指标条目 — all catalogue entries, in plan and domain order.

    Returns:
        A tuple of :class:`Indicator` (see :func:`catalog` for the same as a table).
        Raises CatalogError if the catalogue is malformed.
    """
    out: list[Indicator] = []
    for plan, fname in PLAN_FILES.items():
        path = CATALOG_DIR / fname
        if not path.exists():
            continue
        with open(path, encoding="utf-8") as fh:
            doc = yaml.safe_load(fh) or {}
        for raw in doc.get("indicators", []) or []:
            out.append(_build(raw, plan, str(path.name)))
    ids = {i.id for i in out}
    for ind in out:
        if ind.same_as and ind.same_as not in ids:
            raise CatalogError(f"same_as 指向不存在的指标 {ind.same_as!r}", indicator=ind.id)
    seen: dict[str, str] = {}
    for ind in out:
        if ind.id in seen:
            raise CatalogError("指标编号重复", indicator=ind.id)
        seen[ind.id] = ind.name_zh
    order = list(_meta()["domains"])
    out.sort(key=lambda i: (order.index(i.domain), i.source_section != "主要目标",
                            i.source_number))
    return tuple(out)


_LOOKUP: list = [None, None]   # [the indicators() tuple, its lookup table]


def _lookup() -> dict[str, Indicator]:
    """Id / name / alias → indicator, built once per catalogue (``indicators()`` is cached;
    a brief looks up ≈1000 indicators)."""
    inds = indicators()
    if _LOOKUP[0] is not inds:
        _LOOKUP[:] = [inds, _build_lookup(inds)]
    return _LOOKUP[1]


def _build_lookup(inds: tuple) -> dict[str, Indicator]:
    table: dict[str, Indicator] = {}
    for ind in inds:
        table[ind.id] = ind
    # names and aliases never shadow an id; a name shared by two plans finds the entry that
    # holds the data (the one without ``same_as``)
    for ind in sorted(inds, key=lambda i: i.same_as is not None):
        for key in (ind.name_zh, *ind.aliases):
            table.setdefault(key, ind)
    return table


def indicator(key: str) -> Indicator:
    """查找指标 — look up an indicator by id (``c_infant_mortality``), Chinese name or alias.

    Args:
        key: the id, Chinese name ("婴儿死亡率") or an alias.

    Returns:
        An :class:`Indicator` (``.unit``, ``.target``, ``.direction``, ...).

    Raises UnknownIndicatorError with the closest matches when nothing fits.
    """
    table = _lookup()
    if key in table:
        return table[key]
    norm = re.sub(r"\s+", "", str(key))
    if norm in table:
        return table[norm]
    close = difflib.get_close_matches(norm, list(table), n=3, cutoff=0.5)
    hint = f"，是否是：{'、'.join(close)}" if close else ""
    raise UnknownIndicatorError(f"找不到指标 {key!r}{hint}", indicator=key)


def suggest(key: str, n: int = 3) -> list[str]:
    """Ids or names close to ``key`` (for "did you mean" messages)."""
    return difflib.get_close_matches(str(key), list(_lookup()), n=n, cutoff=0.5)


def domains() -> "pd.DataFrame":
    """规划领域 — the 15 domains of both plans.

    Returns:
        DataFrame with columns code ("C1"), plan, number, zh (Chinese name), en, reporter
        (the default member unit).
    """
    import pandas as pd

    rows = [{"code": k, **v} for k, v in _meta()["domains"].items()]
    return pd.DataFrame(rows)


def member_units() -> list[str]:
    """成员单位 — short names of the member units that report data.

    Returns:
        A list of names ("卫健委", "教育局", ...), as used by ``wuwei template --unit``.
    """
    return list(_meta()["member_units"])


CATALOG_COLUMNS = [
    "id", "plan", "domain", "domain_code", "domain_en", "name_zh", "name_en", "unit",
    "direction", "target_kind", "target_value", "target_year", "target_text", "tolerance",
    "base_year", "change", "monitorable", "reporter", "reporter_inferred", "levels",
    "breakdowns", "source_section", "source_number", "source_text",
]


def catalog(plan: str | None = None, domain: str | None = None,
            monitorable: bool | None = None) -> "pd.DataFrame":
    """指标目录 — one row per indicator, with its target and source; optionally filtered.

    Args:
        plan: "women" / "children" (or 妇女 / 儿童).
        domain: a domain code ("C1") or Chinese name ("儿童与健康"); an unknown domain
            raises CatalogError naming the closest domains.
        monitorable: keep only indicators that are (or are not) monitorable from data.

    Returns:
        DataFrame with columns ``CATALOG_COLUMNS``: id, plan, domain, domain_code,
        domain_en, name_zh, name_en, unit, direction, target_kind, target_value,
        target_year, target_text, tolerance, base_year, change, monitorable, reporter,
        reporter_inferred, levels, breakdowns, source_section, source_number, source_text.
    """
    import pandas as pd

    rows = []
    for i in indicators():
        t = i.target
        rows.append({
            "id": i.id, "plan": i.plan, "domain": i.domain_zh, "domain_code": i.domain,
            "domain_en": i.domain_en, "name_zh": i.name_zh, "name_en": i.name_en,
            "unit": i.unit, "direction": i.direction, "target_kind": t.kind,
            "target_value": t.value, "target_year": t.year,
            "target_text": i.describe_target(), "tolerance": t.tolerance,
            "base_year": t.base_year, "change": t.change, "monitorable": i.monitorable,
            "reporter": i.reporter, "reporter_inferred": i.reporter_inferred,
            "levels": ",".join(i.levels), "breakdowns": ",".join(i.breakdowns),
            "source_section": i.source_section, "source_number": i.source_number,
            "source_text": i.source_text,
        })
    df = pd.DataFrame(rows, columns=CATALOG_COLUMNS)
    if plan is not None:
        plan = {"妇女": "women", "儿童": "children"}.get(plan, plan)
        df = df[df["plan"] == plan]
    if domain is not None:
        doms = _meta()["domains"]
        if domain not in doms and domain not in {d["zh"] for d in doms.values()}:
            names = [d["zh"] for d in doms.values()]
            close = [n for n in names if domain in n or n in domain] + \
                difflib.get_close_matches(domain, names, n=3, cutoff=0.4)
            hint = f"，是否要找：{'、'.join(dict.fromkeys(close[:3]))}？" if close else ""
            choices = "、".join(f"{k} {d['zh']}" for k, d in doms.items())
            raise CatalogError(f"未知领域 {domain!r}{hint}（可选：{choices}）")
        df = df[(df["domain_code"] == domain) | (df["domain"] == domain)]
    if monitorable is not None:
        df = df[df["monitorable"] == monitorable]
    return df.reset_index(drop=True)


#: Roll-up methods an entry's ``aggregate:`` may declare (their meaning: ``rollup.methods``).
AGGREGATE_METHODS = ("ratio", "sum", "weighted", "none")
RATE_KINDS = ("rate", "percent", "per_capita")
_AGGREGATE_KEYS = {"method", "weight", "min_coverage", "reason", "note"}


def aggregate_error(raw: Any, unit: str, counts: Any = None) -> str | None:
    """Why a declared ``aggregate`` value (roll-up rule, see ``rollup.methods``) is invalid
    (Chinese), or None when it is fine."""
    if not isinstance(raw, Mapping):
        return "应为字典，如 {method: ratio}"
    unknown = set(raw) - _AGGREGATE_KEYS
    if unknown:
        return f"未知字段 {sorted(unknown)}"
    method = raw.get("method")
    if method not in AGGREGATE_METHODS:
        return f"method 应为 {'、'.join(AGGREGATE_METHODS)} 之一，而不是 {method!r}"
    cov = raw.get("min_coverage")
    if cov is not None and not (isinstance(cov, (int, float)) and 0 < float(cov) <= 1):
        return "min_coverage 应为 0 到 1 之间的比例（1 = 全部下级地区）"
    if method == "ratio":
        kind = units().get(unit, {}).get("kind")
        if kind not in RATE_KINDS:
            return f"单位“{unit}”不是率或比例，不能用 ratio"
    if method == "weighted" and not raw.get("weight"):
        return "weighted 需要 weight：denominator 或加权人口指标的编号"
    if method == "none" and not raw.get("reason"):
        return "method: none 需要说明 reason"
    return None
