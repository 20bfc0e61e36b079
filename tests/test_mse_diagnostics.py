"""models/mse/diagnostics.py gives NumPyro's split R-hat and effective sample size, without importing NumPyro."""
from __future__ import annotations

import numpy as np
import pytest

from models.mse.diagnostics import effective_sample_size, split_rhat

pytestmark = pytest.mark.unit


def _chains(seed, chains, draws, drift=0.0, ar=0.0):
    """AR(1) chains with a per-chain offset (``drift``): mixing well or not."""
    rng = np.random.default_rng(seed)
    x = np.empty((chains, draws))
    x[:, 0] = rng.normal(size=chains)
    for t in range(1, draws):
        x[:, t] = ar * x[:, t - 1] + rng.normal(size=chains)
    return 5000 + 40 * x + drift * np.arange(chains)[:, None]


@pytest.mark.parametrize("chains,draws,drift,ar", [(8, 500, 0.0, 0.0), (8, 500, 60.0, 0.9), (4, 300, 0.0, 0.5),
                                                   (2, 7, 0.0, 0.3), (4, 301, 10.0, 0.99)])
def test_equal_to_numpyro(chains, draws, drift, ar):
    numpyro_diagnostics = pytest.importorskip("numpyro.diagnostics")
    x = _chains(chains * draws, chains, draws, drift, ar)
    assert split_rhat(x) == pytest.approx(float(numpyro_diagnostics.split_gelman_rubin(x)), rel=1e-12)
    assert effective_sample_size(x) == pytest.approx(float(numpyro_diagnostics.effective_sample_size(x)), rel=1e-9)


def test_mixing_chains_have_rhat_near_one_and_stuck_ones_do_not():
    assert split_rhat(_chains(1, 8, 500)) == pytest.approx(1.0, abs=0.01)
    assert split_rhat(_chains(1, 8, 500, drift=200.0)) > 1.5
    # independent draws: about as many effective draws as draws; strongly autocorrelated: far fewer
    assert 3000 < effective_sample_size(_chains(2, 8, 500)) < 5000
    assert effective_sample_size(_chains(2, 8, 500, ar=0.95)) < 400
