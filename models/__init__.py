"""Warehouse models: what the pipeline computes from the loaded extracts (DuckDB SQL and the Python that runs it).

* ``linkage/``: which records are the same child or adult (deterministic keys, Splink, families);
* ``marts/``: staging, neglect evidence and tiers, prevalence, hidden prevalence, practice indicators,
  availability, journeys and thresholds (SQL in ``marts/sql/``, definitions in ``marts/tier_definitions.yaml``);
* ``mse/``: hidden prevalence by multiple systems estimation (the latent-class sampler, lower bound,
  false-positive allowance, the publication rule);
* ``capture_recapture.py``, ``intervals.py``: the estimators and confidence intervals the marts use;
* ``quality_summary.py``: ``quality.summary``, how good each source's data is per authority and period.

Layer: imports ``checks`` and ``sources`` only (docs/architecture.md, tests/test_layers.py).
"""
