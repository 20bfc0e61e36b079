"""``@reusable``: an asset after the extracts (or a source or reference asset, with its own ``version``) that is
not recomputed when its inputs have not changed.

Wraps an asset's compute function (under ``@asset`` / ``@multi_asset``). Before the body runs, the asset's
input version is compared with the one its last build stored (:mod:`pipelines.assets.freshness`, over the
same quarters). When they are equal the body does not run: the asset reports the last build's
materialisations and check results again (stored, counts only, in ``cache.asset_builds``), with
``recomputed: false``, the reason and the input version added to their metadata, and the input version as
Dagster's data version. Otherwise the body runs as before (after giving back to the operating system the memory
earlier steps freed: :func:`ingest.connections.release_unused_memory`) and what it reported is stored with the
new input version. Either way the step's log says which, and why.

The asset gains a resource parameter ``refresh`` (:class:`pipelines.resources.RefreshState`: the settings'
version); a compute function that declares ``refresh`` itself is given it.
"""
import functools
import hashlib
import inspect
from dataclasses import replace
from pathlib import Path
from typing import Callable

from dagster import AssetCheckResult, AssetCheckSeverity, DataVersion, MaterializeResult
from dagster._core.definitions.metadata import normalize_metadata
from dagster._serdes import deserialize_value, serialize_value

from ingest.connections import let_go, release_unused_memory

from ..partitions import census_reference_date, census_year_partitions, quarter_end
from ..resources import RefreshState
from .freshness import BUILDS_TABLE, Freshness, freshness, input_version, reads_version, record_build

REFRESH_PARAMETER = inspect.Parameter("refresh", inspect.Parameter.KEYWORD_ONLY, annotation=RefreshState)


def reusable(outputs: tuple[str, ...] = (), files: Callable | None = None, version: Callable | None = None,
             reads: tuple[str, ...] = ()):
    """Decorate an asset's compute function (see module docstring). ``outputs``: warehouse tables it writes
    (a missing one forces a build); ``files(context, resources) -> (root, paths)``: for an asset writing files,
    the folder they are under and, after a build, the files written (a missing or altered one forces a build);
    ``version(context, conn, resources) -> str | None``: the asset's own input version, None when it must be
    built; ``reads``: the warehouse tables it reads (``schema.name`` or a pattern such as ``raw.published_*``;
    never one it writes), whose contents are then its input version
    (:func:`pipelines.assets.freshness.reads_version`): an upstream asset rebuilt to the same tables leaves it
    as it was. Default, neither: every extract (:func:`pipelines.assets.freshness.input_version`)."""
    if version is not None and reads:
        raise ValueError("an asset's input version comes from its own version function or from the tables it reads, "
                         "not both")
    def wrap(fn):
        signature = inspect.signature(fn)
        wants_refresh = "refresh" in signature.parameters  # the function reads the settings' version itself

        @functools.wraps(fn)
        def inner(context, *args, refresh: RefreshState, **resources):
            warehouse = resources["warehouse"]
            name = "+".join(sorted(k.to_user_string() for k in context.assets_def.keys))
            partitions = context.assets_def.partitions_def
            period_end = census_reference_date if partitions == census_year_partitions else quarter_end
            periods = [period_end(k) for k in context.partition_keys] if partitions else []
            root = files(context, resources)[0] if files else None
            with warehouse.get_connection() as conn:
                own = version(context, conn, resources) if version else None
                if reads:
                    current = reads_version(conn, name, refresh.settings_version, reads)
                elif version is None:
                    current = input_version(conn, name, refresh.settings_version)
                else:
                    current = hashlib.sha256(f"{own}\n{refresh.settings_version}".encode()).hexdigest()
                found = freshness(conn, name, periods, current, outputs, root)
                if version is not None and own is None:
                    found = replace(found, fresh=False, reason="some of its inputs are new (files to read, or "
                                                                 "tables not created yet)")
                report = _stored_report(conn, found) if found.fresh else None
            if report is not None:
                context.log.info(f"{name}: {found.reason}")
                yield from _replay(report, found)
                return
            context.log.info(f"{name}: recomputed: {found.reason}")
            let_go()  # the warehouse kept open by the run's earlier steps: this one opens it afresh
            release_unused_memory()  # what the previous step freed, before this one's frames and DuckDB grow
            result = fn(context, *args, **resources, **({"refresh": refresh} if wants_refresh else {}))
            events = list(result) if inspect.isgenerator(result) else [result]
            for event in events:
                yield _with_version(event, found)
            with warehouse.get_connection() as conn:
                if version is not None:  # an asset's own version (a source's files) is the one its build left
                    after = version(context, conn, resources)
                    found = replace(found, input_version=hashlib.sha256(
                        f"{after}\n{refresh.settings_version}".encode()).hexdigest())
                written = files(context, resources) if files else (None, [])
                record_build(conn, found, _report(events), written[0], written[1])

        parameters = [*signature.parameters.values(), *([] if wants_refresh else [REFRESH_PARAMETER])]
        inner.__signature__ = signature.replace(parameters=parameters, return_annotation=inspect.Signature.empty)
        inner.declared_reads = tuple(reads)  # for tests/test_declared_reads.py
        return inner
    return wrap


def _check_record(check: AssetCheckResult) -> dict:
    return {"key": check.asset_key, "name": check.check_name, "passed": check.passed,
            "severity": check.severity.value, "description": check.description,
            "metadata": normalize_metadata(check.metadata or {})}


def _report(events) -> str:
    """What a build reported (materialisations with their checks, and separate check results), serialised."""
    records = []
    for event in events:
        if isinstance(event, MaterializeResult):
            records.append({"kind": "materialize", "key": event.asset_key,
                            "metadata": normalize_metadata(event.metadata or {}),
                            "checks": [_check_record(c) for c in event.check_results or []]})
        elif isinstance(event, AssetCheckResult):
            records.append({"kind": "check", **_check_record(event)})
        else:
            raise TypeError(f"a reusable asset reported {type(event).__name__}: only MaterializeResult and "
                            "AssetCheckResult can be stored and reported again")
    return serialize_value(records)


def _stored_report(conn, found: Freshness) -> list | None:
    rows = conn.execute(f"SELECT report FROM {BUILDS_TABLE} WHERE source = ?", [found.asset]).fetchall()
    return deserialize_value(rows[0][0]) if rows else None


def _check(record: dict, extra: dict | None = None) -> AssetCheckResult:
    return AssetCheckResult(asset_key=record["key"], check_name=record["name"], passed=record["passed"],
                            severity=AssetCheckSeverity(record["severity"]), description=record["description"],
                            metadata={**record["metadata"], **(extra or {})})


def _replay(report: list, found: Freshness):
    extra = found.metadata()
    for record in report:
        if record["kind"] == "check":
            yield _check(record, {"recomputed": False})
        else:
            yield MaterializeResult(asset_key=record["key"], metadata={**record["metadata"], **extra},
                                    check_results=[_check(c, {"recomputed": False}) for c in record["checks"]],
                                    data_version=DataVersion(found.input_version))


def _with_version(event, found: Freshness):
    if isinstance(event, MaterializeResult):
        return MaterializeResult(asset_key=event.asset_key, metadata={**(event.metadata or {}), **found.metadata()},
                                 check_results=event.check_results, data_version=DataVersion(found.input_version),
                                 tags=event.tags)
    return event


def output_files(root: Path, subfolders: tuple[str, ...]) -> list[Path]:
    """Every file under ``root``'s ``subfolders`` (for an asset's record of the files it wrote)."""
    return sorted(p for sub in subfolders for p in (root / sub).rglob("*") if p.is_file())
