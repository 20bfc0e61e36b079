"""Loading extracts into the warehouse: read files, split identifiers out, write partitions.

* :mod:`.files`       which files belong to a source and period, and reading one file into a :class:`FileLoad`;
* :mod:`.pseudonymise` the SQL that replaces identifiers by pseudonyms and coarsened attributes;
* :mod:`.write`       replacing a period's rows in ``raw.*``, the identity store and the ``quality.*`` tables.
"""
