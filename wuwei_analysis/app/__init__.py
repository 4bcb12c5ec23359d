"""The forecast app for officials (layer: app; shown by Voila, see ``wuwei app``).

``build_app(db=None)`` returns the whole page as one ipywidgets widget; the notebook
``notebooks/forecast_app.ipynb`` only displays it. Modules:

* :mod:`.data` — cached observations, assessments and forecasts, and the background warmer;
* :mod:`.whatif` — the what-if maths (pure functions);
* :mod:`.present` — chart, summary, what-if sentence, status table, CSV / xlsx (strings, bytes);
* :mod:`wuwei_analysis.svgchart` — the forecast chart as inline SVG (no Vega, no CDN);
* :mod:`.ui` — the widgets and callbacks.
"""
from __future__ import annotations

import json

from .ui import ForecastApp, build_app

NOTEBOOK_CODE = ("from wuwei_analysis.app import build_app, lean_kernel\n\n"
                 "lean_kernel()\n"
                 "build_app()")


def lean_kernel() -> None:
    """Keep a page kernel small (``wuwei app``: each kernel < 200 MB): pandas without
    pyarrow, which pandas imports whenever it is installed (~35 MB in every kernel) and
    the app never uses (it reads SQLite and its own disk cache, and draws SVG). Call it
    before pandas is imported (the app's notebook does); afterwards it does nothing."""
    import sys

    if "pandas" not in sys.modules and not any(isinstance(f, _NoArrow) for f in sys.meta_path):
        sys.meta_path.insert(0, _NoArrow())


class _NoArrow:
    """An import finder for which pyarrow is not installed (pandas then runs without it)."""

    def find_spec(self, name, path=None, target=None):
        if name == "pyarrow" or name.startswith("pyarrow."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


def notebook_json() -> str:
    """The app notebook (one code cell, no outputs), as ``wuwei app`` serves it."""
    nb = {
        "cells": [{
            "cell_type": "code", "execution_count": None, "id": "forecast-app",
            "metadata": {}, "outputs": [], "source": NOTEBOOK_CODE.splitlines(keepends=True),
        }],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
            "title": "武威市妇女儿童发展规划监测预测",
        },
        "nbformat": 4, "nbformat_minor": 5,
    }
    return json.dumps(nb, ensure_ascii=False, indent=1) + "\n"


__all__ = ["ForecastApp", "build_app", "lean_kernel", "notebook_json", "NOTEBOOK_CODE"]
