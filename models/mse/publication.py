"""What the board is shown for hidden prevalence: one rule, chosen from the validation.

:func:`publish` takes capture histories and the lists' false-positive settings and returns a
:class:`Publication`: a status, the method, a central figure *only when validation supports one*,
an interval or range, a lower bound, and the reason in words. :func:`publish_tables` does the same
for many tables at once (the latent-class sampler runs them on every core, and reuses draws it
has kept: :mod:`.sampling`).

The rule (see README, "Hidden prevalence: methods, publication rule and validation", for the
figures it rests on). Everything is computed after the false-positive allowance
(:mod:`.false_positives`).

1. **Observed only** when the lists overlap too little (a list, or a pair of lists, with fewer than
   ``MIN_OVERLAP`` children): no estimate; the observed count after the allowance is the only figure.
   With four or more lists, the list in the most such shortfalls is left out first (:func:`kept_lists`),
   one at a time down to three lists, and the rest are estimated (the reason names what was left out):
   in a partnership of 40,000 children the adult-services list and a partner agency's shared 3 children,
   which had refused the whole estimate.
2. The **floor** ("at least"), published in every other case, is the lower of two figures: the
   lower 95 % limit of Chao's bound (:mod:`.lower_bound`; a floor when children differ in the same
   direction on every list, but not when services split cases, e.g. early help mild and social care
   severe) and the 10th percentile of the latent-class posterior (which does not assume that). In
   validation it was below N in at least 98 % of data sets in every scenario with N >= 1,000, and
   within 10-40 % of N in the median.
3. **Estimate** with four or more lists: the latent-class estimator (:mod:`.latent_class`), central
   figure = posterior median, interval = 95 % credible interval, and the floor. Validation: median
   error about 5 % when children differ at random or services split cases; 15-20 % too low when
   children differ in the same direction on every list (no method corrects that from the lists).
4. **Lower bound and range** with two or three lists: no central figure. With three lists no model
   can tell heterogeneity from dependence between lists (those that could are not identified), and
   validation shows every central estimate biased in some scenario a partnership cannot rule out.
   The range runs from the floor to the upper limit of the latent-class interval.

5. **Internal consistency says the estimate is biased**: when at least ``CONSISTENCY_MIN_LISTS``
   lists were checked (:mod:`.internal_consistency`: each list's known size estimated from the other
   lists within it) and every log ratio has the same sign, the method is known to miss in that
   direction on this partnership's own data (heterogeneity shared by the lists, which the latent
   class under-corrects), so no central figure is published (:func:`apply_consistency`): the status
   becomes 'lower bound and range', the range is the latent-class interval widened on the side of
   the bias by the largest log ratio observed (all negative: upper limit x exp(max |log ratio|),
   from the floor; all positive: lower limit x exp(-max log ratio), to the upper limit). README,
   "Hidden prevalence: methods, publication rule and validation", gives the validation.

Every figure is of N: children in the area neglected in the window who could be on these lists
(the population the lists draw on), after taking out the expected false positives.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from .false_positives import ListPPV, imputed_tables
from .latent_class import DEFAULTS, as_tables, cell_patterns, summarise, table_seed
from .sampling import DrawCache, SamplerJob, draw_tables
from .lower_bound import chao_lower_bound

__all__ = ["Publication", "publish", "publish_tables", "apply_consistency", "consistency_signal", "MIN_OVERLAP",
           "MIN_LISTS_FOR_ESTIMATE", "CONSISTENCY_MIN_LISTS", "CONSISTENCY_METHOD"]

MIN_OVERLAP = 5
MIN_LISTS_FOR_ESTIMATE = 4
LOWER_BOUND_IMPUTATIONS = 50
ESTIMATE, RANGE, OBSERVED_ONLY = "estimate", "lower bound and range", "observed only"
CONSISTENCY_MIN_LISTS = 3  # lists checked by internal consistency before their signs are read as a signal
CONSISTENCY_METHOD = "internal consistency: floor, and the latent-class interval widened by the checks' largest miss"


@dataclass(frozen=True)
class Publication:
    status: str
    method: str
    observed: int
    observed_after_allowance: float
    central: float | None
    lower: float | None
    upper: float | None
    lower_bound: float | None
    lower_bound_point: float | None
    chao_lower_limit: float | None
    latent_class_q10: float | None
    latent_class_median: float | None
    latent_class_lower: float | None
    latent_class_upper: float | None
    rhat: float | None
    reason: str
    lists_used: tuple[str, ...] = ()  # the lists the figures are from (step 1 may leave one out)

    def as_row(self) -> dict:
        return dict(self.__dict__)


def _overlap_problem(table: np.ndarray, names: list[str]) -> str:
    J = len(names)
    X = cell_patterns(J)
    short = [f"{names[j]} has {int(table @ X[:, j])}" for j in range(J) if table @ X[:, j] < MIN_OVERLAP]
    for i in range(J):
        for j in range(i + 1, J):
            shared = int(table @ (X[:, i] * X[:, j]))
            if shared < MIN_OVERLAP:
                short.append(f"{names[i]} and {names[j]} share {shared}")
    return "; ".join(short)


def _pooled_lower_bound(rng, table, ppvs, confidence):
    """Chao's bound over imputations of the false positives, pooled by Rubin's rules on f0."""
    tables = imputed_tables(rng, table, ppvs, LOWER_BOUND_IMPUTATIONS)
    fits = [chao_lower_bound(t, confidence) for t in tables]
    n = np.mean([f.observed for f in fits])
    f0 = np.array([f.estimate - f.observed for f in fits])
    var = np.mean([f.se**2 for f in fits]) + (1 + 1 / len(fits)) * f0.var(ddof=1)
    point = n + f0.mean()
    if f0.mean() > 0 and var > 0:
        from scipy import stats
        z = float(stats.norm.ppf(0.5 + confidence / 2))
        C = math.exp(z * math.sqrt(math.log1p(var / f0.mean() ** 2)))
        return n, point, n + f0.mean() / C
    return n, point, point


def collapse_table(table: np.ndarray, J: int, kept: list[int]) -> np.ndarray:
    """A table over J lists [2^J] as a table over the lists ``kept`` (indices): the others summed out, children
    on none of the kept lists dropped."""
    X = cell_patterns(J)[:, kept].astype(int)
    index = (X * (1 << np.arange(len(kept) - 1, -1, -1))).sum(axis=1)
    out = np.bincount(index, weights=table, minlength=2 ** len(kept))
    out[0] = 0
    return out


def _shortfalls(table: np.ndarray, J: int) -> np.ndarray:
    """Per list: how many of the overlap conditions (its size, each pair it is in) fall below ``MIN_OVERLAP``."""
    X = cell_patterns(J)
    counts = (table @ X < MIN_OVERLAP).astype(int)
    for i in range(J):
        for j in range(i + 1, J):
            if table @ (X[:, i] * X[:, j]) < MIN_OVERLAP:
                counts[[i, j]] += 1
    return counts


def kept_lists(table: np.ndarray, J: int) -> list[int]:
    """The lists (indices) a table with four or more lists is estimated from: all of them, or, where some list
    or pair overlaps too little, those left after leaving out, one at a time, the list in the most shortfalls
    (ties: the smaller list), down to three lists at the fewest. With fewer than four lists, all."""
    kept = list(range(J))
    while J >= MIN_LISTS_FOR_ESTIMATE and len(kept) > 3:
        sub = collapse_table(table, J, kept)
        counts = _shortfalls(sub, len(kept))
        if not counts.any():
            break
        sizes = sub @ cell_patterns(len(kept))
        kept.pop(max(range(len(kept)), key=lambda k: (counts[k], -sizes[k])))
    return kept


def publish_tables(tables, names: list[str], ppvs: list[ListPPV] | list[list[ListPPV]], *,
                   confidence: float = 0.95, seed: int = 0, sampler: dict | None = None,
                   cache: DrawCache | None = None) -> list[Publication]:
    """The rule for T tables [T, 2^J] with the same lists ``names``; ``ppvs``: one ListPPV per list,
    or one such list per table. ``sampler``: overrides of the latent-class sampler's settings;
    ``cache``: where draws computed before are kept (:mod:`.sampling`). With four or more lists, a list that
    overlaps the others too little is left out (:func:`kept_lists`; the reason names it) rather than the whole
    estimate refused; the tables that keep the same lists are estimated together."""
    tables = as_tables(tables)
    T, J = len(tables), len(names)
    per_table = ppvs if ppvs and isinstance(ppvs[0], list) else [ppvs] * T
    kept = [tuple(kept_lists(t, J)) for t in tables]
    out: list[Publication | None] = [None] * T
    for subset in sorted(set(kept), key=lambda k: (-len(k), k)):
        rows = [i for i in range(T) if kept[i] == subset]
        sub = [names[k] for k in subset]
        pubs = _publish_same_lists(np.array([collapse_table(tables[i], J, list(subset)) for i in rows]), sub,
                                   [[per_table[i][k] for k in subset] for i in rows], confidence=confidence,
                                   seed=seed, sampler=sampler, cache=cache)
        for i, p in zip(rows, pubs):
            p = replace(p, lists_used=tuple(sub))
            if len(subset) < J:
                left = ", ".join(n for n in names if n not in sub)
                p = replace(p, reason=f"{p.reason} Left out, overlapping the other lists too little: {left} "
                                      f"({_overlap_problem(tables[i], names)}); the figures are of the children "
                                      f"the other {len(sub)} lists could record.")
            out[i] = p
    return out


def _publish_same_lists(tables, names, per_table, *, confidence, seed, sampler, cache) -> list[Publication]:
    """:func:`publish_tables` for tables whose lists all overlap enough (or that keep every list)."""
    T, J = len(tables), len(names)
    settings = {**DEFAULTS, **(sampler or {})}
    problems = [_overlap_problem(t, names) for t in tables]
    ok = [i for i in range(T) if not problems[i]]
    fits = {}
    if J >= 3:  # each table seeded by its counts: the same table gets the same figures in any refresh
        jobs = [SamplerJob(tables[i], seed, tuple(per_table[i]), settings) for i in ok]
        for i, draws in zip(ok, draw_tables(jobs, cache)):
            fits[i] = summarise(draws, int(tables[i].sum()), confidence)
    out = []
    for i, table in enumerate(tables):
        rng = np.random.default_rng(table_seed(seed + 1, table))
        n = int(table.sum())
        if problems[i]:
            adjusted = float(imputed_tables(rng, table, per_table[i], LOWER_BOUND_IMPUTATIONS).sum(axis=1).mean())
            out.append(Publication(OBSERVED_ONLY, "none", n, adjusted, None, None, None, None, None, None, None, None,
                                   None, None, None, f"No estimate: the lists overlap too little ({problems[i]}; every list and "
                                         f"pair of lists needs at least {MIN_OVERLAP} children). At least "
                                         f"{adjusted:,.0f} children are on a list after the false-positive allowance."))
            continue
        adjusted, lb_point, chao = _pooled_lower_bound(rng, table, per_table[i], confidence)
        fit = fits.get(i)
        q10 = float(np.quantile(fit.draws, 0.10)) if fit else None
        floor = min(chao, q10) if fit else chao
        lc = (fit.median, fit.lower, fit.upper, fit.rhat) if fit else (None, None, None, None)
        if J >= MIN_LISTS_FOR_ESTIMATE:
            warn = (f" The sampler's chains disagree (R-hat {fit.rhat:.2f}): the interval may be too narrow."
                    if fit.rhat > 1.1 else "")
            out.append(Publication(
                ESTIMATE, "latent-class (LCMCR) after false-positive allowance", n, adjusted, fit.median,
                fit.lower, fit.upper, floor, lb_point, chao, q10, *lc,
                f"Estimated from {J} lists by a latent-class model, which allows children to differ in how likely "
                f"they are to be on each list; at least {floor:,.0f}. In validation the central figure was within "
                f"about 5 % when children differ at random but 15-20 % too low when the children hardest to find "
                f"are hard to find for every service; the 'at least' figure stayed below the truth.{warn}"))
        else:
            upper = fit.upper if fit else None
            out.append(Publication(
                RANGE, "floor (Chao lower bound or latent-class 10th percentile); range to latent-class upper limit",
                n, adjusted, None, floor, upper, floor, lb_point, chao, q10, *lc,
                f"With only {J} lists no method can separate children who differ in how likely they are to be "
                f"found from services that share or split cases, so no single figure is published: at least "
                f"{floor:,.0f} children" + (f", and the data cannot rule out up to {upper:,.0f}." if upper else ".")
                + " More lists (partner agencies) would allow an estimate."))
    return out


def consistency_signal(log_ratios) -> tuple[int, float]:
    """(sign, widening) from the internal-consistency log ratios log(N-hat_L / n_L) of the lists checked
    (None or NaN: not checked): sign -1 (every ratio below 0: the method undercounts on these data) or +1
    (every ratio above 0), with widening = the largest |log ratio|; (0, 0.0) when fewer than
    ``CONSISTENCY_MIN_LISTS`` lists were checked or the signs differ."""
    r = np.array([float(x) for x in log_ratios if x is not None and np.isfinite(float(x))])
    if len(r) < CONSISTENCY_MIN_LISTS:
        return 0, 0.0
    if (r < 0).all():
        return -1, float(-r.min())
    if (r > 0).all():
        return 1, float(r.max())
    return 0, 0.0


def apply_consistency(p: Publication, log_ratios) -> Publication:
    """The rule's step 5: ``p`` unchanged unless every internal-consistency log ratio has one sign
    (:func:`consistency_signal`) and there is a latent-class interval; then no central figure, the
    status 'lower bound and range', and a range widened on the side of the bias by the largest log
    ratio: undercount (all negative), floor to latent-class upper limit x exp(widening); overcount (all
    positive), the floor becomes min(floor, latent-class lower limit x exp(-widening)), to the upper limit."""
    sign, widening = consistency_signal(log_ratios)
    if sign == 0 or p.status == OBSERVED_ONLY or p.latent_class_upper is None:
        return p
    factor = math.exp(widening)
    if sign < 0:
        floor, upper = p.lower_bound, p.latent_class_upper * factor
        side = (f"too low (the other lists found {100 * (1 - 1 / factor):.0f} % fewer of a list's children than it "
                f"holds, at worst)")
    else:
        floor, upper = min(p.lower_bound, p.latent_class_lower / factor), p.latent_class_upper
        side = f"too high (by up to {100 * (factor - 1):.0f} % on a list's children)"
    return replace(p, status=RANGE, method=CONSISTENCY_METHOD, central=None, lower=floor, upper=upper,
                   lower_bound=floor, reason=(
                       f"No central figure: on this partnership's own data every list the method could check came out "
                       f"{side}, so the estimate is biased the same way. At least {floor:,.0f} children, and the data "
                       f"cannot rule out up to {upper:,.0f} (the model's interval widened by the largest miss)."))


def publish(table, names: list[str], ppvs: list[ListPPV], **kwargs) -> Publication:
    """:func:`publish_tables` for one table."""
    return publish_tables(as_tables(table), names, ppvs, **kwargs)[0]
