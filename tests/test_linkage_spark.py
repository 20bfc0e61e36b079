"""The child linkage's model scored on Spark (local mode) gives the pairs DuckDB gives (docs/scaling.md).

Slow, and skipped unless pyspark (``pip install -e '.[spark]'``) and Java are installed.
"""
import shutil

import pytest

pytestmark = pytest.mark.slow

pytest.importorskip("pyspark")
if shutil.which("java") is None:
    pytest.skip("Spark needs Java (Debian: default-jre-headless)", allow_module_level=True)

from bench.linkage_throughput import generate_records  # noqa: E402
from models.linkage.deterministic import deterministic_groups  # noqa: E402
from models.linkage.persons import profiles_of  # noqa: E402
from models.linkage.probabilistic import score_pairs  # noqa: E402
from models.linkage.spark import score_pairs_on_spark, spark_model, spark_session  # noqa: E402


def test_the_model_in_spark_sql_keeps_duckdb_only_functions_out():
    records, _ = generate_records(1500, seed=3)
    records = records.assign(det_group=deterministic_groups(records).group)
    profiles, _ = profiles_of(records, "table")
    model = spark_model(score_pairs(profiles, 0.5).model_json)
    sql = " ".join(level["sql_condition"] for c in model["comparisons"] for level in c["comparison_levels"])
    assert "arrays_overlap(forename_names_l, forename_names_r)" in sql
    assert "list_has_any" not in sql and "jaro_winkler_similarity" not in sql.lower() and "&&" not in sql
    assert model["sql_dialect"] == "spark"


def test_spark_scores_the_same_pairs_with_the_same_weights_as_duckdb(tmp_path):
    records, _ = generate_records(3000, seed=1)
    det = deterministic_groups(records)
    records = records.assign(det_group=det.group, det_method=det.method.to_numpy())
    profiles, _ = profiles_of(records, "table")
    duck = score_pairs(profiles, 0.5)
    assert duck.model_source.startswith("trained")
    assert len(duck.pairs) > 100  # enough pairs, across all three tables, for the comparison to mean something

    spark = spark_session(cores=2, memory="2g", checkpoints=str(tmp_path / "checkpoints"))
    try:
        pairs = score_pairs_on_spark(profiles, duck.model_json, spark, 0.5)
    finally:
        spark.stop()

    key = ["profile_id_l", "profile_id_r"]
    on_duckdb = duck.pairs.set_index(key)["match_weight"].sort_index()
    on_spark = pairs.set_index(key)["match_weight"].sort_index()
    assert on_spark.index.equals(on_duckdb.index)
    assert (on_spark - on_duckdb).abs().max() < 1e-9
