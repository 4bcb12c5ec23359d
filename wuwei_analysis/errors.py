"""One exception hierarchy; every error carries the context a user needs to act on it."""
from __future__ import annotations


class WuweiError(Exception):
    """工作台错误的基类 — base class for errors raised by wuwei_analysis.

    Keyword context (file, row, field, indicator, region, ...) is kept in ``self.context``
    and appended to the message, so ``str(err)`` always says where the problem is.
    """

    def __init__(self, message: str, **context: object) -> None:
        self.message = message
        self.context = {k: v for k, v in context.items() if v is not None}
        super().__init__(self.__str__())

    def __str__(self) -> str:
        if not self.context:
            return self.message
        where = "，".join(f"{_LABELS.get(k, k)}: {v}" for k, v in self.context.items())
        return f"{self.message}（{where}）"


_LABELS = {
    "file": "文件",
    "sheet": "工作表",
    "row": "行",
    "field": "字段",
    "value": "值",
    "indicator": "指标",
    "region": "地区",
    "year": "年份",
}


class CatalogError(WuweiError):
    """The indicator catalogue (YAML) is malformed, or an indicator is unknown."""


class UnknownIndicatorError(CatalogError, KeyError):
    """No indicator has this id or Chinese name."""

    def __str__(self) -> str:  # KeyError would quote the message otherwise
        return WuweiError.__str__(self)


class UnknownRegionError(WuweiError, KeyError):
    """No region has this name, alias or code."""

    def __str__(self) -> str:
        return WuweiError.__str__(self)


class DataError(WuweiError):
    """Input data (a reporting file, a series) cannot be used as given."""
