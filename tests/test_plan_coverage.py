"""The catalogue against the plan text: every goal, every numeric target.

The plan (武政发〔2022〕15号) ships in the package; these tests parse it independently of the
catalogue and check that nothing the plan sets as a goal or a number is missing.
"""
import re
from collections import defaultdict

import pytest

from wuwei_analysis.indicator_catalog import indicators
from wuwei_analysis.settings import PLAN_TEXT

NUMERALS = "一二三四五六七八"
# a number followed by a unit that marks a target value (ages, years and days are not targets)
TARGET_NUMBER = re.compile(r"(\d+(?:\.\d+)?)\s*(%|‰|/\s*10\s*万|名|张|小时)")


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def parse_plan():
    """Yield (domain code, section, number, text) for each numbered item of 主要目标 / 策略措施."""
    plan = domain = section = None
    items = []
    current = None
    for raw in PLAN_TEXT.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("# 武威市妇女发展规划"):
            plan = "W"
        elif line.startswith("# 武威市儿童发展规划"):
            plan = "C"
        if line.startswith("#"):
            m = re.search(r"（([一二三四五六七八])）(妇女|儿童)", line)
            if m and plan:
                domain = f"{plan}{NUMERALS.index(m.group(1)) + 1}"
            if "主要目标" in line:
                section = "主要目标"
            elif "策略措施" in line:
                section = "策略措施"
            elif "组织实施" in line or "监测评估" in line:
                section = None
            current = None
            continue
        if not (plan and domain and section) or not line:
            continue
        m = re.match(r"^[-*]?\s*(\d+)\s*[.．、]\s*(.*)", line)
        if m:
            current = [domain, section, int(m.group(1)), m.group(2)]
            items.append(current)
        elif current is not None:  # a paragraph broken by a page break continues
            current[3] += line
    return [tuple(i) for i in items]


ITEMS = parse_plan()
GOALS = [(d, n, t) for d, s, n, t in ITEMS if s == "主要目标"]


def test_the_parser_finds_about_145_goals_in_fifteen_domains():
    assert len({d for d, _, _ in GOALS}) == 15
    assert 140 <= len(GOALS) <= 155


@pytest.mark.parametrize("domain,number,text", GOALS, ids=[f"{d}-{n}" for d, n, _ in GOALS])
def test_every_main_goal_has_a_catalogue_entry(domain, number, text):
    entries = [i for i in indicators()
               if i.domain == domain and i.source_section == "主要目标" and i.source_number == number]
    assert entries, f"{domain} 主要目标{number} 未收录：{text}"
    for e in entries:
        assert _squash(e.source_text)[:12] in _squash(text) or _squash(text)[:12] in _squash(e.source_text), e.id


def test_every_quoted_clause_is_in_the_plan_text():
    plan = _squash(PLAN_TEXT.read_text(encoding="utf-8"))
    missing = [i.id for i in indicators() if _squash(i.source_text) not in plan]
    assert not missing, missing


def _numeric_targets():
    out = []
    for domain, section, number, text in ITEMS:
        for m in TARGET_NUMBER.finditer(text):
            out.append((domain, section, number, float(m.group(1)), m.group(0), text))
    return out


NUMERIC = _numeric_targets()


def test_the_plan_states_about_fifty_numeric_targets():
    assert 45 <= len(NUMERIC) <= 70


def _values(ind):
    t = ind.target
    vals = {t.value, t.tolerance}
    if t.change is not None:
        vals.add(abs(t.change) * 100)
    return {v for v in vals if v is not None}


@pytest.mark.parametrize(
    "domain,section,number,value,mention,text", NUMERIC,
    ids=[f"{d}-{s[:2]}{n}-{m}" for d, s, n, _, m, _ in NUMERIC])
def test_every_numeric_target_in_the_plan_is_in_the_catalogue(domain, section, number, value,
                                                             mention, text):
    entries = [i for i in indicators() if i.domain == domain and i.source_section == section
               and i.source_number == number]
    hits = [i for i in entries if any(abs(v - value) < 1e-9 for v in _values(i))
            and _squash(mention) in _squash(i.source_text)]
    assert hits, f"{domain} {section}{number}：“{mention}” 不在目录中（{text[:60]}…）"
