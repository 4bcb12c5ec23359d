"""The workbench against statsforecast on real published series (the calibration pool).

    python benchmarks/peer_benchmark.py                        # the full report (slow: peers)
    python benchmarks/peer_benchmark.py --sample 0.15          # 15 % of the series
    python benchmarks/peer_benchmark.py --no-peers             # the workbench only
    python benchmarks/peer_benchmark.py --calibrate            # rebuild the shipped constants

Data: ``/work/shared/data/calibration/series.csv.gz`` (``--pool``): 19 indicators of the kinds
the plans monitor, 120–196 countries, 2000–2025. Source: Gapminder's systema_globalis
(open-numbers/ddf--gapminder--systema_globalis, commit c63631ab…, CC BY 4.0), compiling
UN IGME, WHO/UNICEF JMP, ILO, UNESCO, IHME and World Bank series.

Protocol (issue 14)
  Series: indicator × country. Origins: ORIGINS (every third year 2008–2020), each with
  at least 6 observed years from 2000 up to and including the origin. Forecasts 1–5 years
  ahead, scored against the observed values.

  Forecasters, on the same series and origins:
    workbench   ``forecast_series`` via the vectorised engine (``model="auto"``): the
                indicator's unit gives the scale (log ‰ and 1/10万, logit %, identity 岁 / 年).
                Its intervals and p_meet use the interval constants fitted
                leave-one-country-out (every country is scored with constants fitted
                without it; same formula as ``calibrate.predictive``).
    AutoARIMA, AutoETS, RW with drift   statsforecast on the same log / logit / identity
                scale (gaps filled by linear interpolation on that scale), intervals at
                80 / 95 %, transformed back.
    last value  the naive forecast (the MASE yardstick).

  Printed per forecaster:
    relMASE     mean MASE / mean MASE of the last value, over the same forecasts; MASE =
                |error| / mean absolute yearly change of the training years (original scale)
    gm_series   the per-series reading (each series × origin counts once, whatever its
    med_series  scale of errors): for every series × origin, the MAE of its 1–5-year forecasts
                divided by the last value's MAE (the same forecasts as relMASE); the
                geometric mean / median of these ratios over series × origin (ratios
                clipped to [0.001, 1000]; a series × origin whose last value is exact at
                every horizon is left out). relMASE is dominated by the few forecasts with
                big scaled errors; these by the typical series (smooth curves count more).
    cov80 cov95 share of outcomes inside the 80 % / 95 % intervals
    Brier skill p_meet scored at each origin with an outcome 5 years later: the threshold is
                5–30 % (uniform, seeded) better than the last value — for a rate r·(1 − f);
                for a percentage the distance to 100 % shrinks by f; for years (岁, 年) a
                rise of f/10 (0.5–3 %); skill = 1 − Brier / Brier of the base rate; the
                labour-force share (direction "around") has no threshold and is left out
    calib err   weighted mean |mean p − observed frequency| over five probability bins
  The workbench's p_meet is the engine's own (``p_meet_threshold``) passed through the
  recalibration map (``calibrate.recalibrate_p``), here fitted leave-one-country-out.
  For peers p_meet is the normal probability on the modelling scale implied by their
  80 % interval (its centre and half-width / 1.2816).

The pooled trend (``models/pooled_trend.py``, an auto candidate) has weights learned on the
pool: here every country is forecast with weights fitted without its country fold
(N_FOLDS folds, on the forecasts of every origin FIT_ORIGINS of the whole pool, not only
the sample); ``--pooled-past-only`` also drops every forecast whose outcome year is after
the scored origin; ``--no-pooled`` runs the auto rule without it.

``--calibrate`` first writes ``wuwei_analysis/data/calibration/pooled_trend.yaml`` (the
weights fitted on the whole pool), then ``wuwei_analysis/data/calibration/intervals.yaml``: per model family
(the model the auto rule picked), c by maximum likelihood and the horizon factors and k80 /
k95 as empirical quantiles (``calibrate.calibrate_pool_h``) over all pool forecasts; and
``wuwei_analysis/data/calibration/p_meet.yaml``: the p_meet recalibration map per key
(``calibrate.p_meet_key``: the model family, or ``bound``), a monotone piecewise-linear map
through the (mean p, observed frequency) of equal-count bins (``p_meet_map``), fitted on the
p_meet under the constants just written.
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from wuwei_analysis.engine.vector_models import SeriesBatch, Targets, forecast_batch, intervals, \
    p_meet_threshold, _subfits
from wuwei_analysis.models import calibrate as cal
from wuwei_analysis.models import pooled_trend as _pt
from wuwei_analysis.models.core import resolve_spec
from wuwei_analysis.models.fit import snap_bounds

POOL = "/work/shared/data/calibration/series.csv.gz"
ORIGINS = (2008, 2011, 2014, 2017, 2020)
H = 5
MIN_TRAIN = 6
#: The kinds of series issue 14 names (under-5 and neonatal mortality, rural water and
#: sanitation, skilled birth attendance, female labour-force participation).
ISSUE_KINDS = ("under_five_mortality_from_cme_per_1000_born", "newborn_mortality_rate_per_1000",
               "at_least_basic_water_source_rural_access_percent",
               "at_least_basic_sanitation_rural_access_percent",
               "births_attended_by_skilled_health_staff_percent_of_total",
               "females_aged_15plus_labour_force_participation_rate_percent")
#: Families whose interval constants come from this pool (the others keep the national
#: constants of ``calibrate.CALIBRATION``; see ``--families``). Pool-fitted log-linear /
#: logit constants covered 98 % of the national backtest's outcomes (tests/test_backtest.py),
#: so those families keep the national constants.
POOL_FAMILIES = ("arima", "naive", "pooled", "arima2", "curve")
OUT_YAML = Path(__file__).resolve().parents[1] / "wuwei_analysis/data/calibration/intervals.yaml"
OUT_PMAP = OUT_YAML.parent / "p_meet.yaml"
OUT_POOLED = OUT_YAML.parent / "pooled_trend.yaml"
#: Origins whose forecasts the pooled trend's weights are fitted on (every year with at least
#: MIN_TRAIN years before it; outcomes up to 5 years later).
FIT_ORIGINS = tuple(range(2005, 2024))
N_FOLDS = 10         # country folds for the pooled trend's weights
P_BINS = 10          # equal-count bins of p per key in the p_meet map
P_MIN = 100          # fewer forecasts with an outcome: no map for that key
P_TAIL = 0.02        # the map is the pool's below 1 − P_TAIL and above P_TAIL; linear beyond
#: On the share scale, forecasts from training years without noise (the model's own sd below
#: EXACT_NOISE × the pace: published estimates drawn as straight lines, which then come true
#: for a year or two) do not calibrate the intervals: they would teach that a percentage
#: on a straight line is known exactly, which no monitored county series is.
EXACT_NOISE = 0.01
#: Fewest such forecasts for a family's own share-scale constants.
MIN_SHARE = 500
#: On the share scale k95 is at most this × k80. The pool's share-scale errors are mostly
#: tiny with a few large ones (k95 / k80 up to 14: published lines that run on, then stop),
#: and with the textbook floor on the 80 % interval (calibrate.share_floor) that tail put a
#: county percentage rising 2.5 points a year at 92 % with a 95 % interval from 71 to 100.
#: 3 is about the other families' ratio (arima 3.0, pooled 2.8).
SHARE_TAIL_MAX = 3.0
SERIES_CLIP = 1000.0  # per-series MAE ratios clipped to [1 / SERIES_CLIP, SERIES_CLIP]


# ----------------------------------------------------------------------------- scales
def kind_of(unit: str) -> str:
    return resolve_spec(unit).scale.kind


def fwd(kind, y):
    y = np.asarray(y, float)
    with np.errstate(all="ignore"):
        if kind == "log":
            return np.log(np.maximum(y, 1e-6))
        if kind == "logit":
            p = np.clip(y / 100.0, 0.0005, 0.9995)
            return np.log(p / (1 - p))
    return y


def inv(kind, z):
    z = np.asarray(z, float)
    if kind == "share":     # a percentage on its own scale, held inside [0, 100]
        return np.clip(z, 0.0, 100.0)
    if kind == "log":
        return np.exp(np.clip(z, -700, 700))
    if kind == "logit":     # within 0.05 points of 0 / 100 % is the bound (every forecaster)
        return snap_bounds(100.0 / (1.0 + np.exp(-np.clip(z, -700, 700))))
    return z


# ----------------------------------------------------------------------------- tasks
def load_tasks(path: str, sample: float, seed: int, origins) -> tuple[list[dict], pd.DataFrame]:
    d = pd.read_csv(path)
    d = d[d["year"] >= 2000]
    rng = np.random.default_rng(seed)
    tasks = []
    for (ind, geo), g in d.groupby(["indicator", "geo"], sort=True):
        if sample < 1 and rng.random() > sample:
            continue
        g = g.sort_values("year")
        x = g["year"].to_numpy(float)
        y = g["value"].to_numpy(float)
        unit, direction = str(g["unit"].iloc[0]), str(g["direction"].iloc[0])
        for o in origins:
            tr = x <= o
            if tr.sum() < MIN_TRAIN or x[tr][-1] != o:
                continue
            fut = (x > o) & (x <= o + H)
            if not fut.any():
                continue
            f = float(np.random.default_rng([seed, len(tasks)]).uniform(0.05, 0.30))
            tasks.append(dict(indicator=ind, geo=geo, unit=unit, direction=direction,
                              origin=o, x=x[tr], y=y[tr], xf=x[fut], yf=y[fut], f=f))
    return tasks, d


def threshold(t: dict) -> tuple[str, float] | None:
    last, f = float(t["y"][-1]), t["f"]
    if t["direction"] == "down":
        return "at_most", last * (1 - f)
    if t["direction"] == "up":
        if t["unit"] == "%":
            return "at_least", 100 - (100 - last) * (1 - f)
        return "at_least", last * (1 + f / 10)
    return None


def long_forecasts(tasks) -> pd.DataFrame:
    """One row per (task, future observed year): the outcome and the naive forecast."""
    rows = []
    for i, t in enumerate(tasks):
        dy = np.abs(np.diff(t["y"]) / np.diff(t["x"]))
        scale = float(dy.mean()) if len(dy) else np.nan
        for xf, yf in zip(t["xf"], t["yf"]):
            rows.append((i, t["geo"], t["indicator"], kind_of(t["unit"]), int(xf - t["origin"]),
                         float(xf), float(yf), float(t["y"][-1]), scale))
    return pd.DataFrame(rows, columns=["task", "geo", "indicator", "kind", "h", "year",
                                       "actual", "naive", "scale"])


# ----------------------------------------------------------------------------- workbench
def run_workbench(tasks, fc: pd.DataFrame, weights: dict | None = None) -> dict:
    """Engine forecasts for every task; returns the per-forecast model-scale pieces.

    ``weights``: {fold: pooled-trend weights per kind} and the fold of each country
    (``weights["fold_of"]``): every task is forecast with the weights of its country's
    fold, fitted without that fold (None: the shipped weights)."""
    out = {k: np.full(len(fc), np.nan) for k in ("m", "s2i", "u", "zact")}
    out["model"] = np.full(len(fc), "", object)
    out["kind"] = fc["kind"].to_numpy().astype(object).copy()   # the fit's scale kind
    pm = {"m": np.full(len(tasks), np.nan), "s2i": np.full(len(tasks), np.nan),
          "u": np.full(len(tasks), np.nan), "model": np.full(len(tasks), "", object),
          "kind": np.array([kind_of(t["unit"]) for t in tasks], object),
          "fits": [None] * len(tasks)}
    task_rows = fc.groupby("task").indices
    groups: dict[tuple, list[int]] = {}
    for i, t in enumerate(tasks):
        fold = -1 if weights is None else weights["fold_of"][t["geo"]]
        groups.setdefault((fold, t["origin"]), []).append(i)
    shipped = dict(_pt.WEIGHTS)
    for (fold, o), ids in sorted(groups.items()):
        _pt.WEIGHTS.clear()
        _pt.WEIGHTS.update(shipped if fold < 0 else weights.get((fold, o), weights[fold]))
        _run_origin(tasks, fc, ids, o, task_rows, out, pm)
    _pt.WEIGHTS.clear()
    _pt.WEIGHTS.update(shipped)
    out["fits_by_task"] = pm
    return out


def _run_origin(tasks, fc, ids, o, task_rows, out, pm) -> None:
    """Engine forecasts of the tasks ``ids`` (all at origin ``o``) into ``out`` / ``pm``."""
    years = [tasks[i]["x"] for i in ids]
    vals = [tasks[i]["y"] for i in ids]
    units = [tasks[i]["unit"] for i in ids]
    dirs = [tasks[i]["direction"] if tasks[i]["direction"] in ("up", "down") else None
            for i in ids]
    S = len(ids)
    batch = SeriesBatch.from_lists(years, vals, rate_scale=[1.0] * S)
    primary = np.empty(S, object)
    scale = np.empty(S, object)
    for j in range(S):
        sp = resolve_spec(units[j], direction=dirs[j])
        primary[j], scale[j] = sp.primary, sp.scale.kind
    res = forecast_batch(batch, primary=primary, scale=scale, rate_scale=np.ones(S),
                         targets=Targets.none(S), horizon_year=o + H)
    F = res.fits
    for j, i in enumerate(ids):
        r = task_rows.get(i)
        if r is None:
            continue
        xf = fc["year"].to_numpy()[r]
        sub = _subfits(F, np.array([j]))
        m, s = sub.predict(xf[None, :])
        infl = 1.0 if sub.count[0] else cal.t_infl(int(sub.df[0]))
        out["m"][r] = m[0]
        out["s2i"][r] = s[0] ** 2 * infl
        out["u"][r] = sub.u[0]
        out["model"][r] = sub.model[0]
        out["kind"][r] = sub.kind[0]
        out["zact"][r] = fwd(sub.kind[0], fc["actual"].to_numpy()[r])
        m5, s5 = sub.predict(np.array([[tasks[i]["origin"] + H]], float))
        pm["m"][i], pm["s2i"][i], pm["u"][i] = m5[0, 0], s5[0, 0] ** 2 * infl, sub.u[0]
        pm["model"][i] = sub.model[0]
        pm["kind"][i] = sub.kind[0]
        pm["fits"][i] = sub


# ----------------------------------------------------------------------------- pooled trend
def pooled_rows(path: str, origins=FIT_ORIGINS) -> dict:
    """Training rows of the pooled trend: at every origin of every pool series (all of
    them, not the sample), the engine's features and the changes 1–5 years later."""
    from wuwei_analysis.engine.vector_models import _fwd, pooled_features

    tasks, _ = load_tasks(path, 1.0, 0, origins)
    rows = {k: [] for k in ("kind", "geo", "origin", "h", "F", "change", "scale")}
    by: dict[tuple, list[int]] = {}
    for i, t in enumerate(tasks):
        k = kind_of(t["unit"])
        # a percentage is also forecast on the share scale (the SCALE RULE, models/core.py)
        for kd in ((k, "share") if k == "logit" else (k,)):
            by.setdefault((kd, t["origin"]), []).append(i)
    for (kd, o), ids in sorted(by.items()):
        b = SeriesBatch.from_lists([tasks[i]["x"] for i in ids], [tasks[i]["y"] for i in ids])
        slopes, change, sc, z, fail = pooled_features(b.x, b.y, b.mask, kd)[:5]
        zl = z[np.arange(len(ids)), b.n - 1]
        for j, i in enumerate(ids):
            if fail[j] or not np.isfinite(sc[j]) or sc[j] <= 0:
                continue
            t = tasks[i]
            for xf, yf in zip(t["xf"], t["yf"]):
                h = int(xf - o)
                zf = _fwd(np.array([kd], object), np.array([yf]))[0]
                if not np.isfinite(zf):
                    continue
                rows["kind"].append(kd)
                rows["geo"].append(t["geo"])
                rows["origin"].append(o)
                rows["h"].append(h)
                rows["F"].append(np.r_[slopes[j], change[j, h - 1] / h])
                rows["change"].append(zf - zl[j])
                rows["scale"].append(_pt.fit_scale(slopes[j], sc[j])[0])
    return {k: np.array(v) if k != "F" else np.array(v, float).reshape(-1, _pt.N_FEATURES)
            for k, v in rows.items()}


def fit_pooled_weights(R: dict, keep: np.ndarray) -> dict:
    """{kind: H_MAX × features} weights from the training rows ``keep``."""
    out = {}
    for kd in _pt.KINDS:
        W = np.zeros((_pt.H_MAX, _pt.N_FEATURES))
        for h in range(1, _pt.H_MAX + 1):
            sel = keep & (R["kind"] == kd) & (R["h"] == h)
            if sel.sum() < 50:
                break
            W[h - 1] = _pt.fit_weights(R["F"][sel], R["change"][sel], h, R["scale"][sel])
        else:
            out[kd] = W
    return out


def fold_weights(R: dict, geos, past_only=()) -> dict:
    """Country folds (a fixed shuffle) and the weights fitted without each fold; with
    ``past_only`` origins also, per fold and origin o, weights fitted only on forecasts whose
    outcome year is at most o (no other country's outcome from the scored years either; a
    kind with too few such forecasts gets no weights, so the auto rule keeps its trend)."""
    ug = np.array(sorted(set(R["geo"]) | set(geos)))
    fold = np.random.default_rng(14).permutation(len(ug)) % N_FOLDS
    out: dict = {"fold_of": dict(zip(ug, fold.tolist()))}
    rfold = np.array([out["fold_of"][g] for g in R["geo"]])
    for k in range(N_FOLDS):
        out[k] = fit_pooled_weights(R, rfold != k)
        for o in past_only:
            out[(k, o)] = fit_pooled_weights(R, (rfold != k) & (R["origin"] + R["h"] <= o))
    return out


def family_key(model, kind) -> np.ndarray:
    """The interval constants' key per forecast: the model family, ``family@share`` on the
    share scale (``calibrate.constants``)."""
    model = np.asarray(model, object)
    return np.where(np.asarray(kind, object) == "share", model + "@share", model)


def calib_table(wb: dict, fc: pd.DataFrame, keep: np.ndarray | None = None,
                families=POOL_FAMILIES) -> dict:
    """Interval constants per model family from the pool forecasts (rows ``keep``); every
    family on the share scale is the pool's (only percentages get there)."""
    keep = np.ones(len(fc), bool) if keep is None else keep
    err = wb["zact"] - wb["m"]
    ok = keep & np.isfinite(err) & np.isfinite(wb["s2i"])
    out = {}
    h = fc["h"].to_numpy(float)
    fk = family_key(wb["model"], wb["kind"])
    with np.errstate(invalid="ignore", divide="ignore"):
        exact = np.sqrt(wb["s2i"]) < EXACT_NOISE * wb["u"]
    for fam in sorted(f for f in set(fk[ok]) if f in families or f.endswith("@share")):
        share = fam.endswith("@share")
        sel = ok & (fk == fam) & ~(share & exact)
        if sel.sum() < (MIN_SHARE if share else cal.MIN_POOL):   # share: the family's serve
            continue
        cst = cal.calibrate_pool_h(err[sel], np.sqrt(wb["s2i"][sel]), wb["u"][sel], h[sel])
        if share:
            cst["k95"] = round(min(cst["k95"], SHARE_TAIL_MAX * cst["k80"]), 4)
        out[fam] = cst
    return out


def apply_constants(cst: dict, fam, s2i, u, h):
    """sd, k80, k95, nu per forecast under constants ``cst`` (calibrate.predictive)."""
    n = len(fam)
    sd = np.full(n, np.nan)
    k80 = np.full(n, np.nan)
    k95 = np.full(n, np.nan)
    nu = np.full(n, np.nan)
    for f in np.unique(fam):
        sel = fam == f
        c = cst.get(f) or cal.constants(*f.split("@"))
        g = cal.horizon_factor(c, h[sel])
        sd[sel] = np.sqrt(s2i[sel] + (c["c"] * u[sel] * h[sel]) ** 2) * g
        if f.endswith("@share"):
            sd[sel] = cal.share_floor(sd[sel], np.sqrt(s2i[sel]), c["k80"])
        k80[sel], k95[sel] = c["k80"], c["k95"]
        nu[sel] = cal.shape_nu(round(c["k80"], 6), round(c["k95"], 6))
    return sd, k80, k95, nu


def workbench_scores(tasks, fc, wb, loco: bool, families=POOL_FAMILIES,
                     recal: bool = True) -> dict:
    """Intervals and p_meet of the workbench, with leave-one-country-out constants."""
    from scipy import special

    h = fc["h"].to_numpy(float)
    geo = fc["geo"].to_numpy()
    kinds = wb["kind"]              # the scale each forecast was made on
    lo80, hi80, lo95, hi95 = (np.full(len(fc), np.nan) for _ in range(4))
    pm = wb["fits_by_task"]
    p = np.full(len(tasks), np.nan)
    tgeo = np.array([t["geo"] for t in tasks])
    groups = sorted(set(geo)) if loco else [None]
    for g in groups:
        if g is None:
            cst, rows, trows = {}, np.ones(len(fc), bool), np.ones(len(tasks), bool)
        else:
            cst = calib_table(wb, fc, geo != g, families)
            rows, trows = geo == g, tgeo == g
        sd, k80, k95, nu = apply_constants(cst, family_key(wb["model"], wb["kind"])[rows],
                                           wb["s2i"][rows],
                                           wb["u"][rows], h[rows])
        m = wb["m"][rows]
        for lo, hi, k in ((lo80, hi80, k80), (lo95, hi95, k95)):
            for kd in np.unique(kinds[rows]):
                s = kinds[rows] == kd
                idx = np.nonzero(rows)[0][s]
                lo[idx] = inv(kd, m[s] - k[s] * sd[s])
                hi[idx] = inv(kd, m[s] + k[s] * sd[s])
        # p_meet at origin + 5
        ti = np.nonzero(trows)[0]
        ti = ti[np.isfinite(pm["m"][ti])]
        if len(ti):
            sd5, k5, _, nu5 = apply_constants(cst, family_key(pm["model"], pm["kind"])[ti],
                                              pm["s2i"][ti], pm["u"][ti],
                                              np.full(len(ti), float(H)))
            for j, i in enumerate(ti):      # the engine's own p_meet (bounds and all)
                th = threshold(tasks[i])
                if th is None:
                    continue
                tg = Targets(np.array([th[0]], object), np.array([th[1]]),
                             np.array([tasks[i]["origin"] + H]), np.array([np.nan]),
                             np.array([np.nan]), np.ones(1))
                p[i] = p_meet_threshold(pm["fits"][i], np.array([pm["m"][i]]), sd5[j:j + 1],
                                        k5[j:j + 1], nu5[j:j + 1], tg)[0]
    # the recalibration map of p_meet, fitted without the country (or the shipped one)
    key = task_keys(tasks, pm)
    o = outcome5(tasks)
    if not recal:
        pass
    elif loco:
        raw, p = p, np.full(len(tasks), np.nan)
        for g in sorted(set(tgeo)):
            cal.P_MEET_MAP.clear()
            cal.P_MEET_MAP.update(p_meet_map(raw, o, key, tgeo != g))
            te = tgeo == g
            p[te] = cal.recalibrate_p(raw[te], key[te])
        cal.P_MEET_MAP.clear()
        cal._load_p_meet_map()
    else:
        p = cal.recalibrate_p(p, key)
    mean = np.full(len(fc), np.nan)
    for kd in np.unique(kinds):
        s = kinds == kd
        mean[s] = inv(kd, wb["m"][s])
    return dict(mean=mean, lo80=lo80, hi80=hi80, lo95=lo95, hi95=hi95, p=p)


def task_keys(tasks, pm) -> np.ndarray:
    """The p_meet map key per task (``calibrate.p_meet_key``; the pool has no counts)."""
    kinds = pm["kind"]
    point = np.array([inv(k, [v])[0] for k, v in zip(kinds, pm["m"])])
    thr = np.array([(threshold(t) or (None, np.nan))[1] for t in tasks], float)
    last = np.array([t["y"][-1] for t in tasks], float)
    kind = np.array([(threshold(t) or ("", 0))[0] for t in tasks], object)
    met = np.where(kind == "at_most", last <= thr + 1e-9,
                   np.where(kind == "at_least", last >= thr - 1e-9, False))
    return cal.p_meet_key(pm["model"], kinds, point, np.zeros(len(tasks), bool),
                          np.zeros(len(tasks), bool), thr, met)


def p_meet_map(p, o, key, keep, bins: int = P_BINS) -> dict:
    """Per key: knots of the monotone map p → observed frequency: ``bins`` equal-count bins
    of p (mean p, frequency), pooled where the frequency falls (pool-adjacent violators),
    anchored at (0, 0) and (1, 1)."""
    ok = keep & np.isfinite(p) & np.isfinite(o) & (p > 0) & (p < 1)
    out = {}
    for k in sorted(set(key[ok]) - {""}):
        sel = ok & (key == k)
        if sel.sum() < P_MIN:
            continue
        order = np.argsort(p[sel], kind="stable")
        pp, oo = p[sel][order], o[sel][order]
        blocks = [[pp[i].mean(), oo[i].mean(), len(i)]
                  for i in np.array_split(np.arange(len(pp)), bins) if len(i)]
        j = 0
        while j < len(blocks) - 1:
            if blocks[j][1] > blocks[j + 1][1]:
                a, b = blocks[j], blocks[j + 1]
                w = a[2] + b[2]
                blocks[j] = [(a[0] * a[2] + b[0] * b[2]) / w, (a[1] * a[2] + b[1] * b[2]) / w, w]
                del blocks[j + 1]
                j = max(j - 1, 0)
            else:
                j += 1
        # bins with the same mean p (ties) are one knot
        bx, by, bw = (np.array([b[i] for b in blocks]) for i in range(3))
        ux = np.unique(bx)
        by = np.array([np.average(by[bx == v], weights=bw[bx == v]) for v in ux])
        bx = ux
        # the pool's thresholds lie near the last value: below P_TAIL (above 1 − P_TAIL) the
        # map runs straight to (0, 0) ((1, 1)) instead of extending the extreme bin's frequency
        # to a threshold far out of reach; beyond the extreme bins' mean p (no data there) it
        # runs straight from the last knot to (0, 0) / (1, 1)
        inner = (bx > P_TAIL) & (bx < 1 - P_TAIL)
        lo = [P_TAIL] if bx[0] <= P_TAIL else []
        hi = [1 - P_TAIL] if bx[-1] >= 1 - P_TAIL else []
        kx = np.r_[lo, bx[inner], hi]
        out[str(k)] = (np.r_[0.0, kx, 1.0], np.r_[0.0, np.interp(kx, bx, by), 1.0])
    return out


# ----------------------------------------------------------------------------- peers
def run_peers(tasks, fc, names) -> dict:
    from statsforecast import StatsForecast
    from statsforecast.models import AutoARIMA, AutoETS, Naive, RandomWalkWithDrift

    mk = {"AutoARIMA": lambda: AutoARIMA(), "AutoETS": lambda: AutoETS(model="ZZN"),
          "RWD": lambda: RandomWalkWithDrift()}
    models = [mk[n]() for n in names]
    rows = []
    for i, t in enumerate(tasks):
        kd = kind_of(t["unit"])
        grid = np.arange(t["x"][0], t["x"][-1] + 1)
        z = np.interp(grid, t["x"], fwd(kd, t["y"]))
        rows.append(pd.DataFrame({"unique_id": i, "ds": grid.astype(int), "y": z}))
    df = pd.concat(rows, ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # a series too short for a model (AutoETS: "tiny datasets") gets the last value
        sf = StatsForecast(models=models, freq=1, n_jobs=1, fallback_model=Naive())
        pred = sf.forecast(df=df, h=H, level=[80, 95])
    pred = pred.reset_index() if "unique_id" not in pred.columns else pred
    out = {}
    key = pd.MultiIndex.from_arrays([fc["task"].to_numpy(), fc["year"].to_numpy().astype(int)])
    pred = pred.set_index(["unique_id", "ds"])
    kinds = fc["kind"].to_numpy()
    alias = {"AutoARIMA": "AutoARIMA", "AutoETS": "AutoETS", "RWD": "RWD"}
    cols = list(pred.columns)
    for n in names:
        col = [c for c in cols if c == alias[n]] or [c for c in cols if c.startswith(alias[n])
                                                     and "-" not in c]
        base = col[0]
        P = pred.reindex(key)
        res = {}
        for nm, c in (("m", base), ("lo80", f"{base}-lo-80"), ("hi80", f"{base}-hi-80"),
                      ("lo95", f"{base}-lo-95"), ("hi95", f"{base}-hi-95")):
            res[nm] = P[c].to_numpy(float)
        o = {"mean": np.full(len(fc), np.nan)}
        for nm in ("lo80", "hi80", "lo95", "hi95"):
            o[nm] = np.full(len(fc), np.nan)
        for kd in np.unique(kinds):
            s = kinds == kd
            o["mean"][s] = inv(kd, res["m"][s])
            for nm in ("lo80", "hi80", "lo95", "hi95"):
                o[nm][s] = inv(kd, res[nm][s])
        # p_meet at origin + 5 (normal on the modelling scale)
        from scipy import stats

        p = np.full(len(tasks), np.nan)
        for i, t in enumerate(tasks):
            th = threshold(t)
            if th is None:
                continue
            try:
                r = pred.loc[(i, int(t["origin"] + H))]
            except KeyError:
                continue
            kd = kind_of(t["unit"])
            sd = (r[f"{base}-hi-80"] - r[f"{base}-lo-80"]) / (2 * cal.Z80)
            zt = fwd(kd, [th[1]])[0]
            cdf = float(stats.norm.cdf((zt - r[base]) / sd)) if sd > 0 else \
                float(r[base] <= zt)
            p[i] = cdf if th[0] == "at_most" else 1 - cdf
        o["p"] = p
        out[n] = o
    return out


# ----------------------------------------------------------------------------- scoring
def outcome5(tasks) -> np.ndarray:
    o = np.full(len(tasks), np.nan)
    for i, t in enumerate(tasks):
        th = threshold(t)
        hit = np.nonzero(t["xf"] == t["origin"] + H)[0]
        if th is None or not len(hit):
            continue
        v = float(t["yf"][hit[0]])
        o[i] = float(v <= th[1] + 1e-9) if th[0] == "at_most" else float(v >= th[1] - 1e-9)
    return o


def brier(p, o) -> tuple[float, float, int]:
    ok = np.isfinite(p) & np.isfinite(o)
    p, o = np.clip(p[ok], 0, 1), o[ok]
    if not len(p):
        return np.nan, np.nan, 0
    b = float(np.mean((p - o) ** 2))
    base = float(np.mean(o))
    skill = 1 - b / max(base * (1 - base), 1e-12)
    bins = np.minimum((p * 5).astype(int), 4)
    ce = 0.0
    for k in range(5):
        s = bins == k
        if s.any():
            ce += s.mean() * abs(p[s].mean() - o[s].mean())
    return skill, ce, int(len(p))


def score(name, r, fc, tasks, common) -> dict:
    a = fc["actual"].to_numpy()
    sc = fc["scale"].to_numpy()
    ok = common & np.isfinite(r["mean"])
    mase = np.abs(r["mean"] - a)[ok] / sc[ok]
    mase_n = np.abs(fc["naive"].to_numpy() - a)[ok] / sc[ok]
    inside80 = (a >= r["lo80"] - 1e-9) & (a <= r["hi80"] + 1e-9)
    inside95 = (a >= r["lo95"] - 1e-9) & (a <= r["hi95"] + 1e-9)
    skill, ce, nb = brier(r["p"], outcome5(tasks)) if "p" in r else (np.nan, np.nan, 0)
    gm, med = per_series(fc["task"].to_numpy()[ok], np.abs(r["mean"] - a)[ok],
                         np.abs(fc["naive"].to_numpy() - a)[ok])
    return dict(forecaster=name, n=int(ok.sum()), relMASE=mase.mean() / mase_n.mean(),
                gm_series=gm, med_series=med,
                cov80=inside80[ok].mean(), cov95=inside95[ok].mean(), brier_skill=skill,
                calib_err=ce, n_pmeet=nb)


def per_series(task, err, err_naive) -> tuple[float, float]:
    """Geometric mean and median over series × origin of the series' MAE relative to the
    last value's (sum |e| / sum |e_naive| over its horizons), clipped to
    [1 / SERIES_CLIP, SERIES_CLIP]; a series × origin whose last value is exact is left out."""
    g = pd.DataFrame({"k": task, "e": err, "en": err_naive}).groupby("k").sum()
    g = g[g["en"] > 0]
    if not len(g):
        return np.nan, np.nan
    ratio = (g["e"] / g["en"]).clip(1 / SERIES_CLIP, SERIES_CLIP).to_numpy()
    return float(np.exp(np.log(ratio).mean())), float(np.median(ratio))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pool", default=POOL)
    ap.add_argument("--sample", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--no-loco", action="store_true", help="shipped constants, not LOCO")
    ap.add_argument("--peer-cache", default="",
                    help="a file keeping the peers' forecasts (same pool, sample and seed)")
    ap.add_argument("--calibrate", action="store_true",
                    help=f"write the interval constants to {OUT_YAML}")
    ap.add_argument("--origins", default=",".join(map(str, ORIGINS)))
    ap.add_argument("--families", default=",".join(POOL_FAMILIES),
                    help="model families calibrated on the pool (others: national constants)")
    ap.add_argument("--no-pooled", action="store_true",
                    help="without the pooled trend (the auto rule of before)")
    ap.add_argument("--pooled-past-only", action="store_true",
                    help="pooled-trend weights for origin o fitted on outcomes up to o only")
    a = ap.parse_args(argv)
    t0 = time.time()
    origins = tuple(int(v) for v in a.origins.split(","))
    fams = tuple(a.families.split(","))
    tasks, d = load_tasks(a.pool, a.sample, a.seed, origins)
    fc = long_forecasts(tasks)
    print(f"pool: {a.pool}  (Gapminder systema_globalis, CC BY 4.0)")
    print(f"series×origins: {len(tasks)}  forecasts: {len(fc)}  countries: "
          f"{fc['geo'].nunique()}  origins: {origins}  horizons 1–{H}")
    weights = None
    if not a.no_pooled:
        R = pooled_rows(a.pool)
        if a.calibrate:
            write_pooled(fit_pooled_weights(R, np.ones(len(R["h"]), bool)), R)
            _pt._load_weights()
        weights = fold_weights(R, [t["geo"] for t in tasks],
                               origins if a.pooled_past_only else ())
        print(f"pooled trend: {len(R['h'])} training forecasts, weights fitted without each "
              f"of {N_FOLDS} country folds"
              f"{', and only on outcomes up to the origin' if a.pooled_past_only else ''}"
              f" ({time.time() - t0:.0f} s)")
    else:
        _pt.WEIGHTS.clear()
    wb = run_workbench(tasks, fc, weights)
    print(f"workbench models: {pd.Series(wb['model']).value_counts().to_dict()}  "
          f"({time.time() - t0:.0f} s)")
    if a.calibrate:
        table = calib_table(wb, fc, families=fams)
        wb_ar = None
        if "arima" in fams and "arima" not in table and _pt.WEIGHTS:
            # the auto rule no longer ends with arima (rule 6 makes it the pooled trend): its
            # constants (for model="arima" asked by name) from the rule without rule 6
            saved = dict(_pt.WEIGHTS)
            _pt.WEIGHTS.clear()
            wb_ar = run_workbench(tasks, fc, None)
            _pt.WEIGHTS.update(saved)
            table.update(calib_table(wb_ar, fc, families=("arima",)))
        write_yaml(table, a, len(tasks))
        # the p_meet map, on the p_meet of the constants just written
        cal._load_pool_constants()
        raw = workbench_scores(tasks, fc, wb, loco=False, families=fams, recal=False)["p"]
        pmap = p_meet_map(raw, outcome5(tasks), task_keys(tasks, wb["fits_by_task"]),
                          np.ones(len(tasks), bool))
        if wb_ar is not None:
            raw = workbench_scores(tasks, fc, wb_ar, loco=False, families=fams, recal=False)["p"]
            key = task_keys(tasks, wb_ar["fits_by_task"])
            # and the families rule 6 replaces on the pool but that shorter series still get
            pmap.update({k: v for k, v in p_meet_map(raw, outcome5(tasks), key,
                                                     ~np.isin(key, list(pmap))).items()
                         if k not in pmap})
        write_pmap(pmap, a, len(tasks))
        return 0
    results = {"workbench": workbench_scores(tasks, fc, wb, loco=not a.no_loco,
                                             families=fams)}
    if not a.no_peers:
        t1 = time.time()
        cache = Path(a.peer_cache) if a.peer_cache else None
        if cache and cache.exists():
            import pickle

            results.update(pickle.loads(cache.read_bytes()))
        else:
            peers = run_peers(tasks, fc, ["AutoARIMA", "AutoETS", "RWD"])
            results.update(peers)
            if cache:
                import pickle

                cache.write_bytes(pickle.dumps(peers))
        print(f"statsforecast: {time.time() - t1:.0f} s")
    naive = {"mean": fc["naive"].to_numpy(float)}
    common = np.isfinite(fc["scale"].to_numpy()) & (fc["scale"].to_numpy() > 0)
    for r in results.values():
        common &= np.isfinite(r["mean"])
    rows = [score(k, r, fc, tasks, common) for k, r in results.items()]
    rows.append(dict(forecaster="last value", n=int(common.sum()), relMASE=1.0,
                     gm_series=1.0, med_series=1.0))
    tab = pd.DataFrame(rows)
    pd.set_option("display.width", 140)
    print(f"\nintervals and p_meet of the workbench: "
          f"{'shipped constants' if a.no_loco else 'constants fitted leave-one-country-out'}")
    print(tab.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    # by kind and horizon, workbench vs AutoARIMA
    for by in ("kind", "h"):
        print(f"\nby {by}:")
        lines = []
        for val in sorted(fc[by].unique()):
            s = common & (fc[by].to_numpy() == val)
            for k, r in results.items():
                if k not in ("workbench", "AutoARIMA"):
                    continue
                sc = score(k, r, fc, tasks, s)
                lines.append(dict({by: val}, forecaster=k, n=sc["n"], relMASE=sc["relMASE"],
                                  gm_series=sc["gm_series"], med_series=sc["med_series"],
                                  cov80=sc["cov80"], cov95=sc["cov95"]))
        print(pd.DataFrame(lines).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    # by indicator, and the issue's own kinds together (workbench / AutoARIMA)
    ind = fc["indicator"].to_numpy()
    groups = [(v[:44], ind == v) for v in sorted(set(ind))]
    groups.append(("issue 14's kinds (" + ", ".join(k.split("_")[0] for k in ISSUE_KINDS) + ")",
                   np.isin(ind, ISSUE_KINDS)))
    lines = []
    for name, sel in groups:
        w, p = (score(k, results[k], fc, tasks, common & sel) for k in ("workbench", "AutoARIMA"))
        lines.append({"indicator": name, "n": w["n"],
                      **{f"{m} wb/AA": f"{w[m]:.3f}/{p[m]:.3f}"
                         for m in ("relMASE", "gm_series", "med_series", "cov80")}})
    print("\nby indicator (workbench / AutoARIMA):")
    print(pd.DataFrame(lines).to_string(index=False))
    print(f"\n({time.time() - t0:.0f} s)")
    return 0


def write_yaml(table: dict, a, n_tasks: int) -> None:
    import yaml

    OUT_YAML.parent.mkdir(parents=True, exist_ok=True)
    head = (
        "# Interval constants per model family, fitted on the real calibration pool by\n"
        "#   python benchmarks/peer_benchmark.py --calibrate\n"
        "# (rolling origins %s, horizons 1-%d, %d series x origins; the model the auto\n"
        "# rule picked at each origin). c: drift of the pace per year ahead (ML);\n"
        "# horizon: factor on the sd at 1..%d years ahead (beyond: the last);\n"
        "# k80 / k95: multipliers (empirical quantiles of |error| / sd).\n"
        "# Source of the pool: Gapminder systema_globalis (open-numbers/\n"
        "# ddf--gapminder--systema_globalis, commit c63631abeb62af6db3910f68be7c2b443beca50b,\n"
        "# countries-etc-datapoints/), compiling UN IGME, WHO/UNICEF JMP, ILO, UNESCO, IHME and\n"
        "# World Bank series; CC BY 4.0.\n" % (a.origins, H, n_tasks, H))
    body = {k: {kk: (float(vv) if not isinstance(vv, list) else [float(x) for x in vv])
                for kk, vv in v.items()} for k, v in table.items()}
    OUT_YAML.write_text(head + yaml.safe_dump(body, sort_keys=True, allow_unicode=True),
                        encoding="utf-8")
    print(f"wrote {OUT_YAML}")
    for k, v in body.items():
        print(f"  {k}: {v}")


def write_pooled(W: dict, R: dict) -> None:
    import yaml

    head = (
        "# Weights of the pooled trend (models/pooled_trend.py), fitted on the real calibration\n"
        "# pool by\n"
        "#   python benchmarks/peer_benchmark.py --calibrate\n"
        "# (every origin %d-%d of every series with >= %d years before it, changes 1-%d years\n"
        "# later: %d forecasts; least absolute deviations of the change divided by the\n"
        "# series' recent pace, pooled_trend.fit_scale). weights[kind]: one row per horizon h = 1..%d,\n"
        "# columns: mean yearly change over the last %s years, the ARIMA(1,1,0)+drift\n"
        "# forecast's mean yearly change over h years. Source of the pool: see intervals.yaml\n"
        "# (Gapminder systema_globalis, CC BY 4.0).\n"
        % (FIT_ORIGINS[0], FIT_ORIGINS[-1], MIN_TRAIN, H, len(R["h"]), _pt.H_MAX,
           ", ".join(map(str, _pt.SPANS))))
    body = {"spans": list(_pt.SPANS), "h_max": _pt.H_MAX,
            "weights": {k: [[round(float(v), 6) for v in row] for row in w]
                        for k, w in W.items()}}
    OUT_POOLED.write_text(head + yaml.safe_dump(body, sort_keys=True), encoding="utf-8")
    print(f"wrote {OUT_POOLED}")
    for k, w in W.items():
        print(f"  {k}: " + "; ".join(" ".join(f"{v:+.3f}" for v in row) for row in w))


def write_pmap(table: dict, a, n_tasks: int) -> None:
    import yaml

    head = (
        "# The p_meet recalibration map per key (model family; bound: a share whose forecast\n"
        "# is 0 or 100 %%), fitted on the real calibration pool by\n"
        "#   python benchmarks/peer_benchmark.py --calibrate\n"
        "# (rolling origins %s, %d series x origins; at each origin the probability that the\n"
        "# value %d years later meets a threshold 5-30 %% better than the last value, under the\n"
        "# interval constants of intervals.yaml). Knots: mean p and observed frequency of %d\n"
        "# equal-count bins, pooled where the frequency falls, read at %.2f and %.2f (or at the\n"
        "# extreme bins) and joined to (0, 0) and (1, 1); p_meet is\n"
        "# mapped by linear interpolation (calibrate.recalibrate_p). Source of the pool: see\n"
        "# intervals.yaml (Gapminder systema_globalis, CC BY 4.0).\n"
        % (a.origins, n_tasks, H, P_BINS, P_TAIL, 1 - P_TAIL))
    body = {k: {"p": [round(float(v), 6) for v in kx], "freq": [round(float(v), 6) for v in ky]}
            for k, (kx, ky) in table.items()}
    OUT_PMAP.write_text(head + yaml.safe_dump(body, sort_keys=True), encoding="utf-8")
    print(f"wrote {OUT_PMAP}: keys {sorted(body)}")


if __name__ == "__main__":
    sys.exit(main())
