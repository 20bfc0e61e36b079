"""Sensor: start a load when an extract file arrives in, or changes in, the incoming folder.

Every 60 seconds the sensor scans the incoming folder (:func:`sources.incoming.scan_incoming`:
which file is which registered source, authority and period). For each source and period it
hashes that period's files of the source (SHA-256 of each file's content, combined in path
order) and asks for a run of the source's asset and partition with the run key
``<asset>:<partition>:<hash>``. Dagster starts a run only for a run key it has not seen, so an
unchanged folder starts nothing, a new or changed file starts exactly one run, and putting back
an old version of a file does not reload it (run the partition by hand to do that). File hashes
are cached in the sensor's cursor by (size, modification time) so unchanged files are not re-read
on every tick.

The sensor is STOPPED by default; turn it on in the Dagster UI (it needs the daemon).
"""
import hashlib
import json
from pathlib import Path

from dagster import AssetKey, DefaultSensorStatus, RunRequest, SensorEvaluationContext, SensorResult, sensor

from .ingest.files import file_digest
from .jobs import CIN_CENSUS_JOB, QUARTERLY_JOB
from .partitions import census_partition_key, partition_key_for_quarter_end
from .resources import IncomingExtracts


def _requests(extracts: IncomingExtracts, cache: dict) -> list[RunRequest]:
    """One run request per (source asset, period) that has files, keyed by their content hash."""
    registry = extracts.registry()
    scan = extracts.scan()
    groups: dict[tuple[str, object], list] = {}
    for found in scan.files:
        groups.setdefault((found.source, found.period_end), []).append(found)
    requests = []
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
        asset_name = f"raw/{name}"
        requests.append(RunRequest(run_key=f"{asset_name}:{partition}:{combined.hexdigest()[:16]}",
                                   job_name=CIN_CENSUS_JOB if census else QUARTERLY_JOB, partition_key=partition,
                                   asset_selection=[AssetKey(["raw", name])],
                                   tags={"neglect/trigger": "incoming_files_sensor"}))
    return requests


def build_incoming_files_sensor(jobs: list):
    @sensor(
        name="incoming_files_sensor",
        jobs=jobs,
        minimum_interval_seconds=60,
        default_status=DefaultSensorStatus.STOPPED,
        description="Loads a source's period when a file for it arrives or changes in the incoming folder.",
    )
    def incoming_files_sensor(context: SensorEvaluationContext, extracts: IncomingExtracts) -> SensorResult:
        cache = json.loads(context.cursor) if context.cursor else {}
        if not Path(extracts.incoming_dir).is_dir():
            return SensorResult(skip_reason=f"the incoming folder {extracts.incoming_dir} does not exist")
        requests = _requests(extracts, cache)
        return SensorResult(run_requests=requests, cursor=json.dumps(cache))

    return incoming_files_sensor
