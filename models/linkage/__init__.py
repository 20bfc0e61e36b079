"""Record linkage: which source records belong to the same child (or adult), and which adults live with which children.

The steps, each in its own module:

* :mod:`.records`: one row per source record with its identifiers, cleaned (SQL over the
  identity store and the warehouse).
* :mod:`.deterministic`: records that share an LA child ID, early-help ID, NHS number or
  UPN are the same person (conflicting keys are reported and not used).
* :mod:`.probabilistic`: Splink (Fellegi-Sunter, DuckDB) scores pairs of the remaining groups
  on names, date of birth, sex and postcode.
* :mod:`.clusters`: groups joined by a match become one person; ``person_key`` values are
  carried over from the previous run so a child keeps their key.
* :mod:`.family`: adults in adult services linked to the children they live with.
* :mod:`.evaluation`: on the synthetic partnership, links scored against ``truth/``.
* :mod:`.run`: the whole thing, as the Dagster assets call it.

The records stay in DuckDB (temporary tables on the warehouse connection, under its memory limit: setting
``duckdb_memory_limit``) through the deterministic grouping, the profiles and Splink; pandas holds only
each record's group, cluster, key and method, and the scored pairs.
"""
