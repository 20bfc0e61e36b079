"""Capture-history data with a known N, for validating the estimators (nothing here estimates).

A scenario is a population of ``N`` neglected children and ``lists`` services that each record
some of them, plus children they record who are not neglected (false positives). Each child has a
latent severity z ~ Normal(0, 1), partly explained by an observed age band (four bands; z = 0.6 x
band effect + noise, so stratifying by age band removes about a third of the variance of z).
Child i is on list j with probability logistic(logit(base_j) + slope_j * z_i), independently
between lists given z. The lists are, in order: children's social care, early help, adult
services, health visiting, schools (``LISTS``), with base probabilities ``BASE``.

Heterogeneity (``slope_j``):

* ``none``: every child has the same chance on a list (slope 0): the textbook assumptions hold.
* ``same``: more severe neglect makes a child likelier to be on *every* list (slope 0.8 for all):
  lists are positively dependent overall and log-linear estimates run low.
* ``opposite``: social care takes severe cases (slope +1.0) and early help mild ones (-1.0);
  adult services lean severe (+0.5), health visiting (universal, 0-4) slightly mild (-0.3),
  schools slightly severe (+0.3). Lists are negatively dependent in part: estimates can run high,
  and with three lists this structure cannot be identified from the data.

False positives: a share ``fp`` of each list's entries are children outside N, drawn from a pool of
``20 N`` other children independently for each list (so a false positive is nearly always on one
list only). A case-file audit of ``AUDIT_SIZE`` randomly chosen entries per list is simulated
(the number found truly neglected), as an analyst would do.

``N`` from 200 to 10,000; the table is the 2^J cell counts (all-zero cell 0) in
:func:`models.mse.latent_class.cell_patterns` order, pooled and by age band.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LISTS = ("social_care", "early_help", "adult_services", "health_visiting", "schools")
BASE = (0.20, 0.18, 0.08, 0.22, 0.15)
SLOPES = {"none": (0.0, 0.0, 0.0, 0.0, 0.0), "same": (0.8, 0.8, 0.8, 0.8, 0.8),
          "opposite": (1.0, -1.0, 0.5, -0.3, 0.3)}
AGE_BANDS = 4
AUDIT_SIZE = 50


@dataclass(frozen=True)
class Scenario:
    lists: int
    heterogeneity: str
    fp: float
    N: int

    @property
    def name(self) -> str:
        return f"{self.lists} lists, {self.heterogeneity}, fp {self.fp:.0%}, N {self.N:,}"


@dataclass(frozen=True)
class Sample:
    """One simulated data set: ``table`` [2^J] pooled, ``strata`` [AGE_BANDS, 2^J]; ``N`` the truth;
    ``audit`` [(checked, confirmed)] per list; ``true_table`` the histories of the N children alone."""

    table: np.ndarray
    strata: np.ndarray
    N: int
    audit: list[tuple[int, int]]
    true_table: np.ndarray


def _tabulate(caps: np.ndarray, band: np.ndarray) -> np.ndarray:
    J = caps.shape[1]
    index = (caps * (1 << np.arange(J - 1, -1, -1))).sum(axis=1)
    out = np.zeros((AGE_BANDS, 2**J))
    np.add.at(out, (band, index), 1)
    out[:, 0] = 0
    return out


def simulate(scenario: Scenario, rng: np.random.Generator) -> Sample:
    J, N = scenario.lists, scenario.N
    base, slope = np.array(BASE[:J]), np.array(SLOPES[scenario.heterogeneity][:J])
    band = rng.integers(0, AGE_BANDS, N)
    band_effect = (band - (AGE_BANDS - 1) / 2) / np.sqrt((AGE_BANDS**2 - 1) / 12)
    z = 0.6 * band_effect + 0.8 * rng.standard_normal(N)
    logit = np.log(base / (1 - base))[None, :] + slope[None, :] * z[:, None]
    caps = (rng.random((N, J)) < 1 / (1 + np.exp(-logit))).astype(int)
    true = _tabulate(caps, band)
    # false positives: for list j, a share fp of its entries, drawn from 20 N children outside N
    pool = 20 * N
    fp_caps = np.zeros((pool, J), dtype=int)
    audit = []
    for j in range(J):
        tp = int(caps[:, j].sum())
        k = min(pool, int(rng.poisson(tp * scenario.fp / (1 - scenario.fp)))) if scenario.fp > 0 else 0
        fp_caps[rng.choice(pool, k, replace=False), j] = 1
        checked = min(AUDIT_SIZE, tp + k)
        confirmed = int(rng.hypergeometric(tp, k, checked)) if checked else 0
        audit.append((checked, confirmed))
    listed_fp = fp_caps.any(axis=1)
    fp_band = rng.integers(0, AGE_BANDS, int(listed_fp.sum()))
    strata = true + _tabulate(fp_caps[listed_fp], fp_band)
    return Sample(strata.sum(axis=0), strata, N, audit, true.sum(axis=0))


def scenario_grid(lists=(3, 4, 5), heterogeneity=("none", "same", "opposite"), fp=(0.0, 0.1, 0.2),
                  N=(200, 1000, 10_000)) -> list[Scenario]:
    return [Scenario(k, h, f, n) for k in lists for h in heterogeneity for f in fp for n in N]
