"""Charts in notebooks without the internet: an Altair renderer and notebook trust.

Altair's own notebook output loads Vega from a CDN (blank on an intranet) and JupyterLab 4
renders Vega-Lite only up to v5. Importing ``wuwei_analysis`` in a notebook kernel makes
every Altair chart — the package's (:mod:`wuwei_analysis.charts`) and a researcher's own
``alt.Chart`` — display through :data:`OFFLINE_RENDERER`: an SVG picture rendered here by
vl-convert (text stays text, CJK font chain), with a PNG copy for viewers that do not trust
the notebook. No script, no CDN: the output holds no http(s) URL except the SVG XML
namespace, and JupyterLab, papermill / nbclient outputs and nbconvert HTML all show it.

:func:`trust_notebook` signs an executed notebook (e.g. a brief's) so JupyterLab shows its
inline SVG when it is opened.

Layering: above :mod:`.charts` and :mod:`.render` (it uses both); nothing imports it but
the package ``__init__`` (lazily, on the first chart displayed).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import altair as alt

__all__ = ["OFFLINE_RENDERER", "PNG_MAX_SVG_CHARS", "enable_offline_renderer",
           "offline_mimebundle", "trust_notebook"]

#: Name of the offline Altair renderer (``alt.renderers.enable(OFFLINE_RENDERER)``).
OFFLINE_RENDERER = "wuwei_offline"
#: No PNG copy for charts whose SVG is larger than this (a grid of 30 small charts: SVG
#: ~0.5 MB, PNG ~1.4 MB and ~8 s more); trusted notebooks show the SVG anyway.
PNG_MAX_SVG_CHARS = 300_000


def offline_mimebundle(spec: Mapping[str, Any] | alt.TopLevelMixin, *, png: bool = True,
                       png_scale: float = 1.0) -> dict[str, str]:
    """图表的离线显示内容 — a chart as a notebook mimebundle with no URL to fetch.

    Args:
        spec: a Vega-Lite spec dict (as Altair passes it to a renderer) or a chart.
        png: add an ``image/png`` copy: JupyterLab does not show SVG of an untrusted
            notebook (e.g. one executed by papermill, opened later) and falls back to it.
            Skipped for very large charts (SVG over :data:`PNG_MAX_SVG_CHARS`).
        png_scale: pixel scale of the PNG copy.

    Returns:
        ``{"image/svg+xml": svg, "image/png": base64 PNG, "text/plain": "<图表：title>"}``.
        The SVG is rendered by vl-convert with the Chinese theme merged under the chart's
        own config (:func:`wuwei_analysis.render.chart_to_svg`); text stays text in the
        CJK font chain. Nothing is fetched (``allowed_base_urls=[]``).
    """
    import base64

    from .render import _chart_title, chart_spec, chart_to_svg

    full = chart_spec(spec)
    svg = chart_to_svg(full)
    bundle = {"image/svg+xml": svg, "text/plain": f"<图表：{_chart_title(full) or '未命名'}>"}
    if png and len(svg) <= PNG_MAX_SVG_CHARS:
        import vl_convert as vlc

        bundle["image/png"] = base64.b64encode(
            vlc.svg_to_png(svg, scale=png_scale)).decode("ascii")
    return bundle


def _offline_renderer(spec: dict, **options: Any) -> dict[str, str]:
    return offline_mimebundle(spec, png=bool(options.get("png", True)),
                              png_scale=float(options.get("png_scale", 1.0)))


def enable_offline_renderer(*, png: bool = True, png_scale: float = 1.0,
                            force: bool = True) -> bool:
    """让图表离线显示 — make every Altair chart display without the internet.

    Registers :data:`OFFLINE_RENDERER` (see :func:`offline_mimebundle`) and enables it.
    ``import wuwei_analysis`` does this in a notebook kernel, with ``force=False``: a
    renderer the researcher enabled before (other than Altair's CDN-loading ``default`` /
    ``html``) is left alone. ``alt.renderers.enable("default")`` switches back.

    Args:
        png: also send a PNG copy (for untrusted notebooks); False saves ~0.3 s per chart.
        png_scale: the PNG's pixel scale.
        force: enable even if another non-default renderer is active.

    Returns:
        True if the offline renderer is now active.
    """
    alt.renderers.register(OFFLINE_RENDERER, _offline_renderer)
    active = alt.renderers.active
    if force or active in ("default", "html", "", None, OFFLINE_RENDERER):
        alt.renderers.enable(OFFLINE_RENDERER, png=png, png_scale=png_scale)
        return True
    return False


def trust_notebook(path: str | Any) -> bool:
    """把执行过的笔记本标为可信 — sign an executed notebook so JupyterLab shows its outputs.

    JupyterLab strips SVG and sanitises HTML of a notebook it does not trust; a notebook
    written by papermill / nbclient is untrusted until signed. This signs it in the
    current user's Jupyter notary (``nbformat.sign``, the same as ``jupyter trust``), so it
    opens trusted for this user on this machine (elsewhere charts fall back to PNG).

    Args:
        path: the ``.ipynb`` file.

    Returns:
        True if the notebook is now trusted; False if it could not be signed (e.g. the
        notary database is not writable) — the notebook itself is never changed.
    """
    import nbformat
    from nbformat.sign import NotebookNotary

    nb = nbformat.read(str(path), as_version=4)
    try:
        notary = NotebookNotary()
        notary.sign(nb)
        return bool(notary.check_signature(nb))
    except Exception:  # noqa: BLE001 - trust is a convenience; the PNG copy still shows
        return False
