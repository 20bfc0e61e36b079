"""Estimators, checks and the publication rule for hidden prevalence (multiple systems estimation).

``latent_class``: the Bayesian latent-class estimator (LCMCR); ``lower_bound``: Chao's lower bound;
``false_positives``: the positive-predictive-value allowance; ``internal_consistency``: each list
estimated from the others; ``publication``: what the board is shown; ``simulate``: capture-history
data with a known answer, used only by the validation harness and the tests.
The log-linear estimator is :mod:`models.capture_recapture` (Chapman, strata, the entry point
``estimate_population``), with its machinery in ``loglinear`` and the result type in ``result``.
"""
