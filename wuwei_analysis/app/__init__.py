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

NOTEBOOK_CODE = "from wuwei_analysis.app import build_app\n\nbuild_app()"


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


__all__ = ["ForecastApp", "build_app", "notebook_json", "NOTEBOOK_CODE"]
