"""The predictive distribution of a future count (and so of a rate) under a count model.

A Poisson / quasi-Poisson trend gives, for a future year, a log-rate η ~ N(m, s²) (the
calibrated spread of the trend, see :mod:`.calibrate`) and, given η, a count of events at
the expected denominator E::

    N | η ~ Poisson(λ),   λ = E · e^η                                   (φ = 1)
    N | η ~ negative binomial, mean λ, variance φ·λ                     (φ > 1)

(the negative binomial is the Poisson–gamma mixture with gamma shape λ / (φ − 1)). The
future rate is N / E × rate_scale, so its distribution is discrete: interval ends are rates
a county can actually record (k events / E).

This module computes that distribution *deterministically*: P(N ≤ k) is the integral over
η of the Poisson (or negative binomial) distribution function, by Gauss–Legendre quadrature
on the part of the normal range where the integrand is neither ≈ 1 nor ≈ 0. Quantiles are
the smallest integer k with P(N ≤ k) ≥ q. Accuracy, against a 400,000-point trapezoid rule
over counts 0–20,000, spreads s = 0.003–1.5 and φ = 1–6: |error| < 2e-7 in P for the
Poisson (28 nodes), < 3e-6 for the negative binomial (40 nodes) — where
the 8,000-draw simulation it replaces had a Monte-Carlo error of about 0.005 — and, unlike a
simulation, the result is the same whether one series or a million are computed at once
(the per-series path and the vectorised engine share these functions; large batches sum
small counts' probabilities term by term and share windows between levels, which agrees
with the special functions to about 1e-15 — the same integer quantiles).

Every function takes numpy arrays (broadcast together, flattened) and is vectorised;
large batches are computed in cache-sized chunks of items with like counts.
"""
from __future__ import annotations

import numpy as np

#: Gauss–Legendre nodes of the integral over the normal log-rate (Poisson; negative
#: binomial).
QUAD_NODES = 28
QUAD_NODES_NB = 40
#: The normal range integrated over (Φ(−8.5) ≈ 1e-17).
Z_MAX = 8.5
#: Where the count distribution function counts as 1 (left) or 0 (right) of the interval.
TAIL_EPS = 1e-13

_GL: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _nodes(n: int) -> tuple[np.ndarray, np.ndarray]:
    if n not in _GL:
        _GL[n] = np.polynomial.legendre.leggauss(n)
    return _GL[n]


def _flat(*arrays) -> list[np.ndarray]:
    out = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in arrays))
    return [np.ascontiguousarray(a).reshape(-1) for a in out]


def _count_cdf_given_rate(k: np.ndarray, lam: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """P(N ≤ k | λ) for real k ≥ 0 (continuous in k): Poisson, or negative binomial for φ>1."""
    from scipy import special

    nb = phi > 1.0
    with np.errstate(all="ignore"):
        if nb.all() and nb.size:            # negative binomial only (cdf_window's groups)
            return special.betainc(lam / (phi - 1.0), k + 1.0, 1.0 / phi)
        out = special.gammaincc(k + 1.0, lam)
        if np.any(nb):
            r = lam / np.where(nb, phi - 1.0, 1.0)
            out = np.where(nb, special.betainc(r, k + 1.0, 1.0 / np.where(nb, phi, 2.0)), out)
    return out


def count_cdf(k, m, s, exposure, phi=1.0) -> np.ndarray:
    """P(N ≤ k) for the count N of the module docstring (k < 0 gives 0)."""
    k, m, s, E, phi = _flat(k, m, s, exposure, phi)
    out = np.zeros(len(k))
    ok = k > -1.0
    if ok.any():
        out[ok] = cdf_window(np.floor(k[ok]), 1, m[ok], s[ok], E[ok], phi[ok])[:, 0]
    return out


def _gl(lo: np.ndarray, hi: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes (items × nodes) and weights on [lo, hi]."""
    x, w = _nodes(n)
    half = (hi - lo) / 2.0
    mid = (hi + lo) / 2.0
    return mid[:, None] + half[:, None] * x[None, :], w[None, :] * half[:, None]


def cdf_window(k0, width: int, m, s, E, phi, span=None) -> np.ndarray:
    """P(N ≤ k0 + j) for j = 0 … width − 1 (items × width; k0 ≥ 0 whole numbers).

    One integral over η shares its nodes between the ``width`` counts: P(N ≤ k0) from the
    Poisson / negative-binomial distribution function, the next ones by adding the
    probabilities of N = k0 + 1, … (a recurrence), so a window costs little more than one
    count. The interval is where P(N ≤ k0) < 1 − ε and P(N ≤ k0 + span − 1) > ε
    (outside it the integrand is 1 or 0 to within ε = TAIL_EPS); Gauss–Legendre nodes.
    ``span`` (per item, default ``width``) is the part of the window an item needs: its
    values beyond are not meaningful, and its result does not depend on the other items
    (beyond rounding, about 1e-15: see :func:`_cdf_and_next`).
    Keep windows narrow (a few counts): a wide window's integrand has finer detail than
    the nodes resolve.
    """
    k0, m, s, E, phi = _flat(k0, m, s, E, phi)
    span = np.full(len(k0), float(width)) if span is None else \
        np.minimum(_flat(span)[0] * np.ones(len(k0)), width)
    nb = phi > 1.0
    if (nb.all() or not nb.any()) and len(k0) <= CHUNK:
        return _window(k0, width, m, s, E, phi, span)
    out = np.empty((len(k0), width))    # each item's result independent of the others'
    for sel in (np.nonzero(nb)[0], np.nonzero(~nb)[0]):
        sel = sel[np.argsort(k0[sel], kind="stable")]    # like counts together
        for a in range(0, len(sel), CHUNK):      # chunks that stay in the CPU cache
            c = sel[a:a + CHUNK]
            out[c] = _window(k0[c], width, m[c], s[c], E[c], phi[c], span[c])
    return out


#: Counts up to which P(N ≤ k | λ) is summed term by term (Poisson; negative binomial):
#: cheaper there than the regularised incomplete gamma / beta functions used above them.
SUM_MAX_K = 128
SUM_MAX_K_NB = 160
#: Batches of fewer items (one series' forecast) take the plain path: the special
#: functions for every item, no sorting or sharing (their overhead would cost more).
SMALL_BATCH = 100
#: Items per quadrature batch (the nodes of a batch, and the sums over counts, stay in the
#: CPU's L2 cache: about 4 arrays of CHUNK × QUAD_NODES floats).
CHUNK = 512


def _per_value(fn, a: np.ndarray, y: float) -> np.ndarray:
    """``fn(a, y)`` evaluated once per distinct value of ``a`` (whole counts repeat)."""
    if len(a) < SMALL_BATCH:
        return fn(a, y)
    if (a[1:] >= a[:-1]).all():                         # sorted (cdf_window's batches)
        new = np.empty(len(a), bool)
        new[0] = True
        np.not_equal(a[1:], a[:-1], out=new[1:])
        return fn(a[new], y)[np.cumsum(new) - 1]
    u, inv = np.unique(a, return_inverse=True)
    return fn(u, y)[inv.reshape(a.shape)]


def _special(k, lam, loglam, r, q1, phi, want_next: bool = True):
    """(P(N ≤ k | λ), P(N = k + 1 | λ) or None) from the regularised incomplete gamma /
    beta functions (items × nodes; k items × 1)."""
    from scipy import special

    k1 = k + 1.0
    nxt = None
    with np.errstate(all="ignore"):
        if phi is not None:
            f = special.betainc(r, k1, 1.0 / phi)
            if want_next:
                nxt = np.exp(special.gammaln(k1 + r) - special.gammaln(k1 + 1.0)
                             - special.gammaln(r) + r * np.log(1.0 - q1) + k1 * np.log(q1))
        else:
            f = special.gammaincc(k1, lam)
            if want_next:
                nxt = np.exp(k1 * loglam - lam - special.gammaln(k1 + 1.0))
    return f, nxt


def _cdf_and_next(k, lam, loglam, r, q1, phi, want_next: bool = True
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(P(N ≤ k | λ), P(N = k + 1 | λ)) at every node (items × nodes; k whole, per item):
    Poisson (``phi`` None) or negative binomial (shape ``r``, 1 − p = ``q1``).

    Items with k ≤ SUM_MAX_K[_NB] (the usual small county counts) in a batch of at least
    SMALL_BATCH items add the probabilities of 0 … k by their recurrence, items in order of
    k so that each step is one slice; other items use the regularised incomplete gamma /
    beta functions. The two agree to about 1e-15 (so an item's result depends on its batch
    only to rounding).
    """
    nb = phi is not None
    top = (SUM_MAX_K_NB if nb else SUM_MAX_K) if len(k) >= SMALL_BATCH else -1
    small = k <= top
    if not small.any():
        return _special(k[:, None], lam, loglam, r, q1, phi, want_next)
    f = np.empty(lam.shape)
    nxt = np.empty(lam.shape)
    big = np.nonzero(~small)[0]
    if len(big):
        f[big], nxt[big] = _special(k[big, None], lam[big], loglam[big],
                                    None if r is None else r[big],
                                    None if q1 is None else q1[big],
                                    None if phi is None else phi[big])
    sm = np.nonzero(small)[0]
    if len(sm):
        o = sm[np.argsort(k[sm], kind="stable")]
        ks = k[o]
        with np.errstate(all="ignore"):
            if nb:
                rr = np.minimum(r[o], 1e300)
                qq = q1[o]                                        # items × 1
                t = np.exp(-rr * np.log(phi[o]))                 # P(N = 0) = p^r
            else:
                L = np.minimum(lam[o], 1e300)
                t = np.exp(-L)                                    # P(N = 0) = e^−λ
        acc = t.copy()
        start = np.searchsorted(ks, np.arange(1, int(ks[-1]) + 1), side="left")
        for j, a in enumerate(start, 1):                         # items with k ≥ j: a…
            if nb:
                t[a:] *= (rr[a:] + (j - 1.0)) * (qq[a:] * (1.0 / j))
            else:
                t[a:] *= L[a:] * (1.0 / j)
            acc[a:] += t[a:]
        k1 = ks[:, None] + 1.0
        with np.errstate(all="ignore"):
            f[o] = np.minimum(acc, 1.0)
            nxt[o] = t * ((rr + ks[:, None]) * (qq / k1)) if nb else t * (L / k1)
    return f, nxt


def _window(k0, width, m, s, E, phi, span) -> np.ndarray:
    from scipy import special

    s = np.maximum(s, 1e-12)
    kmax = k0 + (span - 1.0)
    with np.errstate(all="ignore"):
        lam_lo = _per_value(special.gammainccinv, k0 + 1.0, 1.0 - TAIL_EPS)  # P(N ≤ k0) = 1 − ε
        lam_hi = _per_value(special.gammainccinv, kmax + 1.0, TAIL_EPS)      # P(N ≤ kmax) = ε
    lam_lo = np.maximum(lam_lo, 1e-300)
    nb = phi > 1.0
    if nb.any():
        # negative binomial: wider than the Poisson by about √φ; widen until the ends hold
        i = np.nonzero(nb)[0]
        pp, ee, mm, ss = phi[i], E[i], m[i], s[i]
        cl, ch = np.log(k0[i] + 1.0), np.log(kmax[i] + 1.0)
        dl = (cl - np.log(lam_lo[i])) * np.sqrt(pp) * 1.1
        dh = (np.log(lam_hi[i]) - ch) * np.sqrt(pp) * 1.1
        lo_t, hi_t = np.exp(cl - dl), np.exp(ch + dh)
        tl = th = np.arange(len(i))     # ends still to check (an end that holds stays put)
        for it in range(80):
            with np.errstate(all="ignore"):
                zl = (np.log(lo_t[tl] / ee[tl]) - mm[tl]) / ss[tl]
                zr = (np.log(hi_t[th] / ee[th]) - mm[th]) / ss[th]
            tl = tl[(_count_cdf_given_rate(k0[i][tl], lo_t[tl], pp[tl]) < 1.0 - 1e-10)
                    & (zl > -Z_MAX)]
            th = th[(_count_cdf_given_rate(kmax[i][th], hi_t[th], pp[th]) > 1e-10)
                    & (zr < Z_MAX)]
            if not (len(tl) or len(th)) or it == 79:
                break
            dl[tl] *= 1.25
            dh[th] *= 1.25
            lo_t[tl], hi_t[th] = np.exp(cl[tl] - dl[tl]), np.exp(ch[th] + dh[th])
        lam_lo[i], lam_hi[i] = lo_t, hi_t
    with np.errstate(all="ignore"):
        zl = np.clip((np.log(lam_lo / E) - m) / s, -Z_MAX, Z_MAX)
        zr = np.clip((np.log(lam_hi / E) - m) / s, -Z_MAX, Z_MAX)
    zl = np.where(np.isnan(zl), -Z_MAX, zl)
    zr = np.maximum(np.where(np.isnan(zr), Z_MAX, zr), zl)
    isnb = bool(nb.any())               # callers pass all-Poisson or all-NB groups
    z, w = _gl(zl, zr, QUAD_NODES_NB if isnb else QUAD_NODES)
    loglam = np.log(E)[:, None] + np.clip(m[:, None] + s[:, None] * z, -700.0, 700.0)
    lam = np.exp(loglam)
    kk = k0[:, None]
    r = q1 = None
    if isnb:
        pph = phi[:, None]
        with np.errstate(all="ignore"):
            r = lam / (pph - 1.0)                                   # NB shape per node
        q1 = 1.0 - 1.0 / pph                                        # NB 1 − p
    f, pmf = _cdf_and_next(k0, lam, loglam, r, q1, pph if isnb else None, width > 1)
    wd = w * np.exp(-0.5 * z * z) * (1.0 / np.sqrt(2.0 * np.pi))
    base = special.ndtr(zl)
    out = np.empty((len(k0), width))
    if len(k0) < SMALL_BATCH:               # the plain sums
        out[:, 0] = base + (wd * f).sum(axis=1)
    else:                                   # row sums of the increments: fewer passes
        out[:, 0] = base + np.einsum("ij,ij->i", wd, f)
    for j in range(1, width):       # P(N ≤ k0 + j) = P(N ≤ k0 + j − 1) + P(N = k0 + j)
        if len(k0) < SMALL_BATCH:
            f = f + pmf
            out[:, j] = base + (wd * f).sum(axis=1)
        else:
            out[:, j] = out[:, j - 1] + np.einsum("ij,ij->i", wd, pmf)
        if j + 1 < width:
            kj = kk + j
            with np.errstate(all="ignore"):
                pmf = pmf * ((kj + r) / (kj + 1.0) * q1 if isnb else lam / (kj + 1.0))
    return np.clip(out, 0.0, 1.0)


def count_quantile(q, m, s, exposure, phi=1.0, max_iter: int = 100, group=None
                   ) -> np.ndarray:
    """The smallest integer k ≥ 0 with P(N ≤ k) ≥ q (as floats).

    Each step evaluates P(N ≤ ·) at c − 1, c, c + 1 (one shared integral, see
    :func:`cdf_window`): the answer when the level is crossed there; otherwise the bracket
    narrows and a Newton step on the integer grid (bisection when it would leave the
    bracket) gives the next c. The first c comes from a log-normal matched to the mean and
    variance of N + ½, which puts the answer within c ± 1 about 98 % of the time.

    ``group`` (optional, per item): items with the same number share m, s, exposure and phi
    (several levels of one distribution); a window they both need is computed once.
    """
    from scipy import special

    q, m, s, E, phi = _flat(q, m, s, exposure, phi)
    n = len(q)
    lam = E * np.exp(np.clip(m, -700.0, 700.0))
    zq = special.ndtri(np.clip(q, 1e-15, 1 - 1e-15))
    with np.errstate(all="ignore"):
        mu = lam * np.exp(s * s / 2.0)
        var = phi * mu + lam * lam * np.exp(s * s) * np.expm1(s * s)
        sig2 = np.log1p(var / (mu + 0.5) ** 2)
        guess = np.exp(np.log(mu + 0.5) - sig2 / 2.0 + np.sqrt(sig2) * zq) - 2.0
    cand = np.ceil(np.clip(np.nan_to_num(guess, nan=0.0, posinf=1e15), 0.0, 1e15))
    lo = np.full(n, -1.0)          # P(N ≤ lo) < q  (P(N ≤ −1) = 0)
    hi = np.full(n, np.inf)        # P(N ≤ hi) ≥ q
    ans = np.full(n, np.nan)
    idx = np.arange(n)
    for it in range(max_iter):
        if len(idx) == 0:
            break
        c = np.maximum(cand[idx], 0.0)
        qq = q[idx]
        k0 = np.maximum(c - 1.0, 0.0)
        if group is None or len(idx) < SMALL_BATCH:
            win = cdf_window(k0, 3, m[idx], s[idx], E[idx], phi[idx])
        else:                   # one window per distribution and start
            g = group[idx]
            top = float(k0.max()) + 1.0
            if float(g.max()) * top < 2.0 ** 62 and g.min() >= 0:      # one sort key
                o = np.argsort(g.astype(np.int64) * int(top) + k0.astype(np.int64),
                               kind="stable")
            else:
                o = np.lexsort((k0, g))
            go, ko = g[o], k0[o]
            new = np.r_[True, (go[1:] != go[:-1]) | (ko[1:] != ko[:-1])]
            inv = np.empty(len(o), np.int64)
            inv[o] = np.cumsum(new) - 1
            u = idx[o[new]]
            win = cdf_window(k0[o[new]], 3, m[u], s[u], E[u], phi[u])[inv]
        # G at c − 1, c, c + 1 (c = 0: G(−1) = 0 and the window starts at 0)
        at0 = c == 0
        g_m1 = np.where(at0, 0.0, win[:, 0])
        g_0 = np.where(at0, win[:, 0], win[:, 1])
        g_p1 = np.where(at0, win[:, 1], win[:, 2])
        g_p2 = np.where(at0, win[:, 2], np.nan)
        found = np.full(len(idx), np.nan)
        found = np.where(np.isnan(found) & (g_m1 < qq) & (g_0 >= qq), c, found)
        found = np.where(np.isnan(found) & (g_0 < qq) & (g_p1 >= qq), c + 1.0, found)
        found = np.where(np.isnan(found) & at0 & (g_p1 < qq) & (g_p2 >= qq), c + 2.0, found)
        done = ~np.isnan(found)
        ans[idx[done]] = found[done]
        top_k = np.where(at0, c + 2.0, c + 1.0)
        top_g = np.where(at0, g_p2, g_p1)
        low = ~done & (top_g < qq)
        high = ~done & (g_m1 >= qq)
        lo[idx[low]] = top_k[low]
        hi[idx[high]] = c[high] - 1.0
        # Newton from the nearer end of the window
        p_top = np.maximum(top_g - np.where(at0, g_p1, g_0), 1e-300)
        p_bot = np.maximum(g_0 - g_m1, 1e-300)
        with np.errstate(all="ignore"):
            newton = np.where(low, np.ceil(top_k + (qq - top_g) / p_top),
                              np.ceil(c - 1.0 - (g_m1 - qq) / p_bot))
        keep = ~done
        idx, newton = idx[keep], newton[keep]
        a_, b_ = lo[idx], hi[idx]
        closed = b_ - a_ <= 1.0
        ans[idx[closed]] = b_[closed]
        idx, newton, a_, b_ = idx[~closed], newton[~closed], a_[~closed], b_[~closed]
        bis = np.where(np.isfinite(b_), np.floor((a_ + b_) / 2.0), 2.0 * a_ + 3.0)
        inside = (newton > a_) & (newton <= b_) & np.isfinite(newton)
        nxt = np.where(inside & (it < 12), newton, bis)
        cand[idx] = np.clip(nxt, a_ + 1.0, b_)
    left = np.isnan(ans)
    if left.any():     # pragma: no cover - safety net
        ans[left] = np.where(np.isfinite(hi[left]), hi[left], lo[left] + 1.0)
    return np.maximum(ans, 0.0)


def _k_at_most(threshold, E, rate_scale) -> np.ndarray:
    """Largest integer k with k / E × rate_scale ≤ threshold + 1e-12."""
    t = threshold + 1e-12
    with np.errstate(all="ignore"):
        k = np.floor(t * E / rate_scale)
        k = np.where(np.isfinite(k), k, -1.0)
        k = np.where((k + 1.0) / E * rate_scale <= t, k + 1.0, k)
        k = np.where(k / E * rate_scale > t, k - 1.0, k)
    return k


def rate_le(threshold, m, s, exposure, phi, rate_scale) -> np.ndarray:
    """P(future rate ≤ threshold) (a float tolerance of 1e-12 on the threshold)."""
    threshold, m, s, E, phi, rs = _flat(threshold, m, s, exposure, phi, rate_scale)
    return count_cdf(_k_at_most(threshold, E, rs), m, s, E, phi)


def rate_ge(threshold, m, s, exposure, phi, rate_scale) -> np.ndarray:
    """P(future rate ≥ threshold) (a float tolerance of 1e-12 on the threshold)."""
    threshold, m, s, E, phi, rs = _flat(threshold, m, s, exposure, phi, rate_scale)
    # rate ≥ t − 1e-12  ⇔  not (rate < t − 1e-12): the largest k strictly below
    t = threshold - 1e-12
    with np.errstate(all="ignore"):
        j = np.ceil(t * E / rs)                       # smallest k with k/E·rs ≥ t (approx.)
        j = np.where(np.isfinite(j), j, 0.0)
        j = np.where((j - 1.0) / E * rs >= t, j - 1.0, j)
        j = np.where(j / E * rs < t, j + 1.0, j)
    return 1.0 - count_cdf(j - 1.0, m, s, E, phi)


def count_quantiles(levels, m, s, exposure, phi=1.0) -> np.ndarray:
    """:func:`count_quantile` for each q in ``levels`` (items × levels), in one call."""
    levels = np.asarray(levels, float)
    m, s, E, phi = _flat(m, s, exposure, phi)
    n, L = len(m), len(levels)
    k = count_quantile(np.repeat(levels[None, :], n, axis=0).reshape(-1), np.repeat(m, L),
                       np.repeat(s, L), np.repeat(E, L), np.repeat(phi, L),
                       group=np.repeat(np.arange(n), L))
    return k.reshape(n, L)


def rate_intervals(levels, m, s, exposure, phi, rate_scale) -> dict:
    """{level: (lo, hi)} — the (1 − level)/2 and 1 − (1 − level)/2 quantiles of the future
    rate for each level (:func:`count_quantiles`)."""
    m, s, E, phi, rs = _flat(m, s, exposure, phi, rate_scale)
    qs = []
    for lv in levels:
        a = (1 - lv) / 2
        qs += [a, 1 - a]
    k = count_quantiles(qs, m, s, E, phi)
    return {lv: (k[:, 2 * i] / E * rs, k[:, 2 * i + 1] / E * rs)
            for i, lv in enumerate(levels)}


def rate_interval(level, m, s, exposure, phi, rate_scale) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi): the (1 − level)/2 and 1 − (1 − level)/2 quantiles of the future rate."""
    return rate_intervals((level,), m, s, exposure, phi, rate_scale)[level]
