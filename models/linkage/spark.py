"""The child linkage's Splink model scored on Apache Spark: the path past one machine (docs/scaling.md).

The pipeline links on DuckDB (:mod:`.probabilistic`). A partnership or region too large for one machine can
score the same pairs on a Spark cluster with the same model: :func:`score_pairs_on_spark` takes the saved
model (``ScoredPairs.model_json``, or the ``linkage_model.json`` a run writes, both in DuckDB's SQL) and the
same profiles :func:`models.linkage.persons.profiles_of` makes (a DataFrame), and returns the scored pairs Splink's
``predict`` gives, as :func:`.probabilistic.score_pairs` returns them.

:func:`spark_model` turns the model's SQL into Spark SQL with sqlglot, and fixes the two things sqlglot
does not: DuckDB's ``list_has_any`` (the nickname and double-barrelled surname levels) becomes Spark's
``arrays_overlap`` (sqlglot writes ``&&``, which Spark does not parse), and ``jaro_winkler_similarity``
becomes the ``jaro_winkler`` function Splink's own jar registers in Spark. ``damerau_levenshtein`` is also
from that jar.

Needs the optional dependency ``pyspark`` (``pip install -e '.[spark]'``) and Java 17 or later; nothing else in
the pipeline imports this module. Splink's input tables are made by the DuckDB path's own
:func:`.probabilistic.input_tables` and handed to Spark. Training stays on DuckDB (m and u from a sample of the
records are what a cluster run would use too). Tested against DuckDB in ``tests/test_linkage_spark.py`` (slow): the same pairs
and match weights.
"""
from __future__ import annotations

import copy
import re

import duckdb
import pandas as pd

from .probabilistic import input_tables, profiles_table

__all__ = ["spark_model", "spark_session", "score_pairs_on_spark"]


def _spark_sql(sql: str) -> str:
    """One SQL condition of the model, DuckDB's dialect to Spark's."""
    import sqlglot

    if sql.strip().upper() == "ELSE":
        return sql
    out = sqlglot.transpile(sql, read="duckdb", write="spark")[0]
    out = re.sub(r"(\w+) && (\w+)", r"arrays_overlap(\1, \2)", out)
    return re.sub(r"(?i)\bJAROWINKLER_SIMILARITY\(", "jaro_winkler(", out)


def spark_model(model_json: dict) -> dict:
    """A saved Splink model (DuckDB SQL) with every comparison level and blocking rule in Spark SQL."""
    model = copy.deepcopy(model_json)
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            level["sql_condition"] = _spark_sql(level["sql_condition"])
            if "sql_dialect" in level:
                level["sql_dialect"] = "spark"
    for rule in model.get("blocking_rules_to_generate_predictions", []):
        if isinstance(rule, dict):
            rule["blocking_rule"] = _spark_sql(rule["blocking_rule"])
            if "sql_dialect" in rule:
                rule["sql_dialect"] = "spark"
    model["sql_dialect"] = "spark"
    return model


def spark_session(cores: int = 2, memory: str = "2g", checkpoints: str = "/tmp/neglect_spark_checkpoints"):
    """A local Spark session with Splink's similarity functions (``local[cores]``, driver ``memory``). On a
    cluster, build the session as the cluster's documentation says and add the same jar (``spark.jars``)."""
    from pyspark.sql import SparkSession
    from splink.internals.spark.jar_location import similarity_jar_location

    spark = (SparkSession.builder.master(f"local[{cores}]").appName("neglect-linkage")
             .config("spark.jars", similarity_jar_location()).config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", str(2 * cores)).config("spark.driver.memory", memory)
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    spark.sparkContext.setCheckpointDir(checkpoints)
    return spark


def score_pairs_on_spark(profiles: pd.DataFrame, model_json: dict, spark, review_threshold: float,
                         table_column: str = "table") -> pd.DataFrame:
    """Profile pairs at or above ``review_threshold`` (match probability, 0-1) scored by ``model_json`` on
    ``spark``: ``profile_id_l``, ``profile_id_r``, ``match_weight``, ``match_probability`` and the
    ``gamma_*``/``bf_*`` columns. ``profiles`` as for :func:`.probabilistic.score_pairs`."""
    from splink import Linker, SparkAPI

    db = SparkAPI(spark_session=spark)
    con = duckdb.connect()  # Splink's input tables made exactly as the DuckDB path makes them, then handed to Spark
    try:
        tables = [db.register(spark.createDataFrame(con.table(table).df()), dataset_display_name=str(name))
                  for table, name in input_tables(con, profiles_table(con, profiles), table_column)]
    finally:
        con.close()
    model = spark_model(model_json)
    model["link_type"] = "link_and_dedupe" if len(tables) > 1 else "dedupe_only"
    linker = Linker(tables, model)
    return linker.inference.predict(threshold_match_probability=review_threshold).as_pandas_dataframe()
