"""City and province figures rolled up from county counts, and consistency checks.

    rules        how each indicator aggregates (catalogue ``aggregate:``, ``_meta.yaml`` defaults)
    hierarchy    parents and children of the region table (cycles, missing parents)
    compute      the vectorised roll-up of one level (shared by the database and the scale table)
    derive       derived values stored in the monitoring database, with provenance
    checks       parent vs children and breakdowns vs total, as warnings with the numbers
    table        the same roll-up for a long table with a parent column, locally or on Dask
"""
from __future__ import annotations

from typing import Any

from .methods import Rule, rule_for, rules, rules_frame

__all__ = ["Rule", "rule_for", "rules", "rules_frame", "derive", "check", "data_quality",
           "rollup_table"]


def _in_database(db, read, *args, **kwargs):
    """``read(conn, ...)`` with ``db`` opened by ``database.connect`` (the default database is
    filled with the default dataset on first use, as every public reader does)."""
    from .. import database

    with database.connect(db) as conn:
        return read(conn, *args, **kwargs)


def derive(db: Any = None, **kwargs: Any):
    """See :func:`wuwei_analysis.rollup.derived.derive`."""
    from .derived import derive as _derive

    return _in_database(db, _derive, **kwargs)


def check(db: Any = None, **kwargs: Any):
    """See :func:`wuwei_analysis.rollup.checks.check`."""
    from .checks import check as _check

    return _in_database(db, _check, **kwargs)


def data_quality(region: Any, year: int | None = None, *, db: Any = None):
    """See :func:`wuwei_analysis.rollup.checks.data_quality`."""
    from .checks import data_quality as _dq

    return _in_database(db, lambda conn: _dq(region, year, db=conn))


def rollup_table(*args, **kwargs):
    """See :func:`wuwei_analysis.rollup.table.rollup_table`."""
    from .table import rollup_table as _rt

    return _rt(*args, **kwargs)
