"""City and province figures rolled up from county counts, and consistency checks.

    rules        how each indicator aggregates (catalogue ``aggregate:``, ``_meta.yaml`` defaults)
    hierarchy    parents and children of the region table (cycles, missing parents)
    compute      the vectorised roll-up of one level (shared by the database and the scale table)
    derive       derived values stored in the monitoring database, with provenance
    checks       parent vs children and breakdowns vs total, as warnings with the numbers
    table        the same roll-up for a long table with a parent column, locally or on Dask
"""
from __future__ import annotations

from .methods import Rule, rule_for, rules, rules_frame

__all__ = ["Rule", "rule_for", "rules", "rules_frame", "derive", "check", "data_quality",
           "rollup_table"]


def derive(*args, **kwargs):
    """See :func:`wuwei_analysis.rollup.derived.derive`."""
    from .derived import derive as _derive

    return _derive(*args, **kwargs)


def check(*args, **kwargs):
    """See :func:`wuwei_analysis.rollup.checks.check`."""
    from .checks import check as _check

    return _check(*args, **kwargs)


def data_quality(*args, **kwargs):
    """See :func:`wuwei_analysis.rollup.checks.data_quality`."""
    from .checks import data_quality as _dq

    return _dq(*args, **kwargs)


def rollup_table(*args, **kwargs):
    """See :func:`wuwei_analysis.rollup.table.rollup_table`."""
    from .table import rollup_table as _rt

    return _rt(*args, **kwargs)
