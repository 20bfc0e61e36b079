"""Loading extracts into the warehouse: find files, read them, split identifiers out, write periods.

Plain Python below ``checks/`` and above ``sources/`` (docs/architecture.md): no Dagster here.

* :mod:`.files`        which files belong to a source and period, and reading one file into a :class:`FileLoad`;
* :mod:`.parallel`     reading many files on every core (spawned worker processes that end with their parent);
* :mod:`.pseudonymise` the SQL that replaces identifiers by pseudonyms and coarsened attributes;
* :mod:`.pseudonyms`   the HMAC key and pseudonym function;
* :mod:`.load`         writing a batch of periods' loads (raw rows, identities, rejects, audit);
* :mod:`.write`        the warehouse write API: replace a period's rows or a table, the ``quality.*`` tables;
* :mod:`.unchanged`    which periods were loaded before from the same files the same way (not read again).

The DfE-style rules run on a file's rows in the same worker: :mod:`checks.file_worker`.
"""
