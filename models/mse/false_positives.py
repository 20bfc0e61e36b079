"""False-positive allowance: take out the listed children who are not in the population.

A list's *positive predictive value* (PPV) is the share of the children it holds for a window who
really belong to N (were neglected in that window). Children on a list who do not (recorded in
error, or whose evidence is about another period) inflate every estimator: with two lists by
about 1/(1 - f)^2 when a share f of each list is false. The allowance is applied to the capture
histories *before* estimation:

* How many: list j's false positives are drawn as Binomial(n_j, 1 - PPV_j), with PPV_j itself
  drawn from Beta(confirmed + 1, checked - confirmed + 1), the posterior of a case-file audit
  that confirmed ``confirmed`` of ``checked`` children (``docs/false-positive-audit.md``). With no
  audit, the list's default PPV counts as an audit of ``DEFAULT_AUDIT_SIZE`` children, so its
  uncertainty is carried too.
* Which: they are taken from the children on list j **only**. A child recorded in error by one
  service is rarely recorded in error by another as well (if each service's errors are
  independent, the chance of two coinciding is the product of two small rates), whereas a child
  on two or more lists is almost always a true case. If errors do coincide (e.g. two services
  both keep an old episode open), this under-corrects.
* Uncertainty: the draw is repeated (multiple imputation) - for the latent-class estimator at
  every Gibbs sweep, for the lower bound and the log-linear estimator over ``imputations``
  tables whose results are pooled - so the interval includes the uncertainty of the PPV and of
  which children were false.

The synthetic partnership's truth gives the real PPVs (``bench/mse_validation.py`` reports them
for the default partnership); the defaults in ``tier_definitions.yaml`` are assumptions to be
replaced by an audit.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .latent_class import as_tables, cell_patterns

__all__ = ["ListPPV", "beta_parameters", "draw_ppv", "remove_false_positives", "imputer", "imputed_tables"]

DEFAULT_AUDIT_SIZE = 20  # an unaudited default PPV weighs as much as an audit of this many children


@dataclass(frozen=True)
class ListPPV:
    """PPV of one list: the audit's ``confirmed`` of ``checked`` children, or an assumed ``ppv``."""

    ppv: float = 1.0
    checked: int | None = None
    confirmed: int | None = None

    def beta(self) -> tuple[float, float]:
        if self.checked:
            return self.confirmed + 1.0, self.checked - self.confirmed + 1.0
        if self.ppv >= 1.0:
            return np.inf, 1.0
        return self.ppv * DEFAULT_AUDIT_SIZE + 1.0, (1 - self.ppv) * DEFAULT_AUDIT_SIZE + 1.0

    @property
    def mean(self) -> float:
        a, b = self.beta()
        return 1.0 if np.isinf(a) else a / (a + b)


def beta_parameters(ppvs: list[ListPPV]) -> np.ndarray:
    """[2, J]: the Beta parameters of each list's PPV (a = inf: exactly 1, no allowance)."""
    return np.array([p.beta() for p in ppvs]).T


def draw_ppv(rng: np.random.Generator, params: np.ndarray) -> np.ndarray:
    """One PPV draw per row and list from Beta parameters ``params`` [2, B, J] (or [2, J])."""
    a, b = params
    fixed = ~np.isfinite(a)
    return np.where(fixed, 1.0, rng.beta(np.where(fixed, 1.0, a), b))


def remove_false_positives(rng: np.random.Generator, y: np.ndarray, ppv: np.ndarray) -> np.ndarray:
    """Tables [B, 2^J] with each list's drawn false positives taken from its only-this-list cell.

    ``ppv`` [B, J]: one PPV draw per table and list."""
    y = np.array(y, dtype=np.float64)
    J = y.shape[1].bit_length() - 1
    X = cell_patterns(J)
    sizes = y @ X                                                 # [B, J]
    false = rng.binomial(sizes.astype(np.int64), np.clip(1 - ppv, 0, 1))
    for j in range(J):
        only = 1 << (J - 1 - j)                                   # the history "list j and no other"
        y[:, only] -= np.minimum(false[:, j], y[:, only])
    return y


def imputer(ppvs_per_table: list[list[ListPPV]], chains: int):
    """A function ``(rng, y) -> y`` for :func:`models.mse.latent_class.sample_lcmcr` (tables in the
    order given, each repeated ``chains`` times): a fresh draw of the PPVs and of the false
    positives for every chain at every sweep. None when no list has an allowance."""
    params = np.stack([beta_parameters(p) for p in ppvs_per_table], axis=1)    # [2, T, J]
    if not np.isfinite(params[0]).any():
        return None
    params = np.repeat(params, chains, axis=1)

    def impute(rng, y):
        return remove_false_positives(rng, y, draw_ppv(rng, params))

    return impute


def imputed_tables(rng: np.random.Generator, table, ppvs: list[ListPPV], imputations: int) -> np.ndarray:
    """``imputations`` copies of one table [2^J], each with its own draw of the false positives."""
    y = np.repeat(as_tables(table), imputations, axis=0)
    params = np.repeat(beta_parameters(ppvs)[:, None, :], imputations, axis=1)
    return remove_false_positives(rng, y, draw_ppv(rng, params))
