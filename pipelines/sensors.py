"""Sensor: refresh what a file feeds when it arrives in, or changes in, the incoming folder.

Every 60 seconds the sensor scans the incoming folder (:func:`sources.incoming.scan_incoming`:
which file is which registered source, authority and period). For each source and period it
hashes that period's files of the source (SHA-256 of each file's content, combined in path
order) and compares the hash with the one it last requested a load for (kept in its cursor). If
any differ it asks for, at most, two runs, as ``neglect run`` does but over the affected range only:

1. ``cin_census_refresh`` over the collection years whose census return is new or changed;
2. ``quarterly_refresh`` (every quarterly extract, the quality summary, linkage and the marts) from
   the first affected quarter (a changed extract's quarter, or the first quarter of a changed
   census year) to the latest period with a file of any source (the census's is 31 March).
   Later quarters are affected too: 12-month measures read the trailing four quarters, spells
   and cohorts are as known at each quarter end, and a census return is carried forward until
   the next one. Extracts that did not change are
   not read again (``ingest/unchanged.py``), so the run costs the linkage and the marts.

One run at a time is allowed (``dagster.yaml``) and queued runs start in the order requested, so
the census run ends before the quarterly run starts. Each run is tagged ``neglect/quarter_end``
with the quarter its data end at, and has a run key made of the changed (asset, partition, hash)
entries: an unchanged folder starts nothing and a new or changed file starts one refresh (putting
back an old version is a change too, unless Dagster has seen that exact run key before: then run
the partitions by hand). File
hashes are cached in the cursor by (size, modification time) so unchanged files are not re-read on
every tick. The board report is not run (``board_report`` in the UI, or ``neglect run``).

The sensor is STOPPED by default; turn it on in the Dagster UI (it needs the daemon).
"""
import hashlib
import json
from pathlib import Path

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SensorResult, sensor

from ingest.files import file_digest

from .jobs import CIN_CENSUS_JOB, QUARTER_END_TAG, QUARTERLY_JOB
from .partitions import census_partition_key, partition_key_for_quarter_end
from .runs import RANGE_END_TAG, RANGE_START_TAG, PlannedRun, data_end
from .resources import IncomingExtracts


def _load_cursor(text: str | None) -> dict:
    """``{"files": {path: [size, mtime_ns, sha256]}, "requested": {"raw/<source>:<partition>": hash}}``; a cursor
    of the sensor before it refreshed downstream (the file cache alone) is kept as the file cache, with
    nothing requested yet, so the first tick after the upgrade refreshes everything once."""
    data = json.loads(text) if text else {}
    if set(data) != {"files", "requested"}:
        data = {"files": data, "requested": {}}
    return data


def _hashes(extracts: IncomingExtracts, cache: dict) -> dict[str, tuple[str, bool, object]]:
    """``{"raw/<source>:<partition>": (hash of that period's files, is census, period end)}``."""
    registry = extracts.registry()
    groups: dict[tuple[str, object], list] = {}
    for found in extracts.scan().files:
        groups.setdefault((found.source, found.period_end), []).append(found)
    out = {}
    for (name, period_end), files in sorted(groups.items(), key=lambda item: (item[0][0], item[0][1])):
        census = registry[name].partitioning == "census_year"
        combined = hashlib.sha256()
        for found in sorted(files, key=lambda f: f.rel):
            stat = found.path.stat()
            cached = cache.get(str(found.path))
            if cached and cached[:2] == [stat.st_size, stat.st_mtime_ns]:
                digest = cached[2]
            else:
                digest = file_digest(found.path)[0]
                cache[str(found.path)] = [stat.st_size, stat.st_mtime_ns, digest]
            combined.update(found.rel.encode() + b"\0" + digest.encode())
        partition = census_partition_key(period_end.year) if census else partition_key_for_quarter_end(period_end)
        out[f"raw/{name}:{partition}"] = (combined.hexdigest()[:16], census, period_end)
    return out


def _request(planned: PlannedRun, changed: list[str], hashes: dict) -> RunRequest:
    run_key = hashlib.sha256("|".join(f"{k}:{hashes[k][0]}" for k in changed).encode()).hexdigest()[:16]
    tags = {"neglect/trigger": "incoming_files_sensor", QUARTER_END_TAG: data_end(planned).isoformat()}
    if planned.first_key == planned.last_key:
        return RunRequest(run_key=f"{planned.job_name}:{planned.first_key}:{run_key}", job_name=planned.job_name,
                          partition_key=planned.first_key, tags=tags)
    return RunRequest(run_key=f"{planned.job_name}:{planned.first_key}..{planned.last_key}:{run_key}",
                      job_name=planned.job_name,
                      tags={**tags, RANGE_START_TAG: planned.first_key, RANGE_END_TAG: planned.last_key})


def _requests(extracts: IncomingExtracts, cursor: dict) -> list[RunRequest]:
    """The census and quarterly refreshes the changed files need (module docstring); updates ``cursor``."""
    hashes = _hashes(extracts, cursor["files"])
    requested = cursor["requested"]
    changed = sorted(k for k, (digest, _, _) in hashes.items() if requested.get(k) != digest)
    if not changed:
        return []
    census = sorted(k.split(":")[1] for k in changed if hashes[k][1])
    first = min(k.split(":")[1] for k in changed)  # a quarter's first day, or a census year's (1 April: a quarter's)
    last_end = max(period for _, _, period in hashes.values())  # the latest period with a file, as neglect run
    plans = []
    if census:
        plans.append(PlannedRun(CIN_CENSUS_JOB, census[0], census[-1], ""))
    plans.append(PlannedRun(QUARTERLY_JOB, first, partition_key_for_quarter_end(last_end), ""))
    for key in changed:
        requested[key] = hashes[key][0]
    return [_request(p, changed, hashes) for p in plans]


def build_incoming_files_sensor(jobs: list):
    @sensor(
        name="incoming_files_sensor",
        jobs=jobs,
        minimum_interval_seconds=60,
        default_status=DefaultSensorStatus.STOPPED,
        description="When a file arrives or changes in the incoming folder: loads it and refreshes what it feeds "
                    "(the census years, then the quarters from the file's to the latest).",
    )
    def incoming_files_sensor(context: SensorEvaluationContext, extracts: IncomingExtracts) -> SensorResult:
        cursor = _load_cursor(context.cursor)
        if not Path(extracts.incoming_dir).is_dir():
            return SensorResult(skip_reason=f"the incoming folder {extracts.incoming_dir} does not exist")
        requests = _requests(extracts, cursor)
        return SensorResult(run_requests=requests, cursor=json.dumps(cursor))

    return incoming_files_sensor
