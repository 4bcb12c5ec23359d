"""The public API a researcher discovers with ``wa.<Tab>`` and ``help()``."""
from __future__ import annotations

import inspect
import re
import warnings

import numpy as np
import pytest

import wuwei_analysis as wa

CJK = re.compile(r"[\u4e00-\u9fff]")
CHART_FUNCTIONS = {"forecast_chart", "county_comparison_chart", "status_overview_chart",
                   "domain_small_multiples", "display_chart"}


def _public():
    return [(name, getattr(wa, name)) for name in wa.__all__]


def test_all_lists_data_model_assessment_and_chart_functions():
    names = set(wa.__all__)
    assert {"catalog", "observations", "forecast_series", "forecast", "backtest", "summary",
            "fit", "assess"} <= names
    assert CHART_FUNCTIONS <= names
    for name in wa.__all__:
        assert getattr(wa, name) is not None, name
    # tab completion offers the API, not the module's own imports
    assert not {"annotations", "Any", "importlib"} & set(dir(wa))
    assert set(wa.__all__) <= set(dir(wa))


@pytest.mark.parametrize("name,obj", _public(), ids=[n for n, _ in _public()])
def test_every_public_name_has_a_chinese_first_line_and_documents_its_arguments(name, obj):
    doc = inspect.getdoc(obj)
    assert doc, f"{name} has no docstring"
    assert CJK.search(doc.splitlines()[0]), f"{name}: first line is not Chinese: {doc.splitlines()[0]}"
    if inspect.isclass(obj) or not callable(obj):
        return
    sig = inspect.signature(obj)
    missing = [p for p in sig.parameters
               if p not in ("self", "args", "kwargs") and not re.search(rf"\b{p}\b", doc)]
    assert not missing, f"{name}: arguments not documented: {missing}"
    assert "Returns:" in doc, f"{name}: no Returns section"
    returns = doc.split("Returns:", 1)[1]
    ann = str(sig.return_annotation)
    if "DataFrame" in ann:
        # a table: its columns are named
        assert re.search(r"column|列", returns), f"{name}: returned columns not named"


def test_backtest_accepts_target_like_forecast_series():
    years = list(range(2010, 2024))
    values = list(8.9 * 0.93 ** np.arange(14))
    a = wa.backtest(years, values, target="c_infant_mortality", model="loglinear")
    b = wa.backtest(years, values, unit="‰", model="loglinear")
    assert len(a) == len(b) > 0
    assert np.allclose(a["mean"], b["mean"])


@pytest.mark.parametrize("word", ["decrease", "down", "下降", "降低"])
def test_direction_synonyms_mean_down(word):
    fc = wa.forecast_series(range(2016, 2024), [6.8, 6.1, 5.9, 5.4, 5.1, 4.9, 4.6, 4.4],
                            unit="‰", target=5.0, direction=word)
    assert fc.attrs["p_meet"] > 0.5      # falling below 5: a "lower is better" target


def test_an_unknown_direction_names_the_valid_values():
    with pytest.raises(wa.WuweiError, match="'up'.*'down'.*'target'"):
        wa.forecast_series(range(2016, 2024), np.arange(8.0) + 1, unit="‰", target=5.0,
                           direction="sideways")


def test_point_forecast_column_is_the_median_with_mean_kept_as_alias():
    fc = wa.forecast_series(range(2016, 2024), [6.8, 6.1, 5.9, 5.4, 5.1, 4.9, 4.6, 4.4],
                            target="c_infant_mortality")
    assert list(fc.columns[:3]) == ["year", "median", "mean"]
    assert (fc["median"] == fc["mean"]).all()
    assert "median" in inspect.getdoc(wa.forecast_series)


def test_matplotlib_and_pyarrow_are_installed_for_the_researcher(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd

    df = wa.observations("c_infant_mortality", "全国")[["year", "value"]]
    ax = df.plot(x="year", y="value")
    assert ax is not None
    path = tmp_path / "obs.parquet"
    df.to_parquet(path)
    back = pd.read_parquet(path)
    assert back["value"].tolist() == df["value"].tolist()
