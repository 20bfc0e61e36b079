"""``@reusable`` hands the settings' version to a compute function that declares ``refresh`` (hidden prevalence
makes its per-quarter digests from it), and adds the resource to one that does not."""
import inspect

import duckdb
from dagster import MaterializeResult, asset, materialize

from pipelines.assets.reuse import reusable
from pipelines.resources import RefreshState, WarehouseResource


@asset
@reusable(outputs=("main.seen_settings",))
def reads_the_settings_version(context, warehouse: WarehouseResource, refresh: RefreshState) -> MaterializeResult:
    with warehouse.get_connection() as conn:
        conn.execute("CREATE OR REPLACE TABLE main.seen_settings AS SELECT ? AS settings_version",
                     [refresh.settings_version])
    return MaterializeResult()


@asset
@reusable(outputs=("main.other",))
def does_not_ask(context, warehouse: WarehouseResource) -> MaterializeResult:
    with warehouse.get_connection() as conn:
        conn.execute("CREATE OR REPLACE TABLE main.other AS SELECT 1 AS one")
    return MaterializeResult()


def _seen(tmp_path, version: str):
    warehouse = tmp_path / "neglect.duckdb"
    result = materialize([reads_the_settings_version, does_not_ask], raise_on_error=False,
                         resources={"warehouse": WarehouseResource(database=str(warehouse)),
                                    "refresh": RefreshState(settings_version=version)})
    assert result.success
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return conn.execute("SELECT settings_version FROM main.seen_settings").fetchall()


def test_a_function_declaring_refresh_is_given_the_settings_version(tmp_path):
    assert _seen(tmp_path, "settings-a") == [("settings-a",)]
    assert _seen(tmp_path, "settings-b") == [("settings-b",)]  # other settings: rebuilt, and told which


def test_refresh_is_one_parameter_either_way():
    for decorated in (reads_the_settings_version, does_not_ask):
        parameters = inspect.signature(decorated.op.compute_fn.decorated_fn).parameters
        assert list(parameters).count("refresh") == 1
