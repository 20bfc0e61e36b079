"""Sensor: start a load when an extract file arrives in, or changes in, the incoming folder.

Every 60 seconds the sensor lists ``<incoming>/<authority>/<period end>/``. For each
source asset and period it hashes the period's files of that source (SHA-256 of each
file's content, combined in path order) and asks for a run of that asset and partition
with the run key ``<asset>:<partition>:<hash>``. Dagster starts a run only for a run key
it has not seen, so an unchanged folder starts nothing, a new or changed file starts
exactly one run, and putting back an old version of a file does not reload it (run the
partition by hand to do that). File hashes are cached in the sensor's cursor by
(size, modification time) so unchanged files are not re-read on every tick.

The sensor is STOPPED by default; turn it on in the Dagster UI (it needs the daemon).
"""
import hashlib
import json
from pathlib import Path

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SensorResult, sensor

from .assets.cin_census import CIN_CENSUS_KEY
from .ingest.extract_files import CIN_FILE_NAMES, EXTRACTS
from .ingest.files import file_digest, period_ends
from .jobs import cin_census_refresh, quarterly_refresh
from .partitions import census_partition_key, partition_key_for_quarter_end
from .resources import IncomingExtracts


def _requests(extracts: IncomingExtracts, cache: dict) -> list[RunRequest]:
    """One run request per (source asset, period) that has files, keyed by their content hash."""
    targets = [(e.key, e.file_names, quarterly_refresh.name, partition_key_for_quarter_end) for e in EXTRACTS]
    targets.append((CIN_CENSUS_KEY, CIN_FILE_NAMES, cin_census_refresh.name,
                    lambda end: census_partition_key(end.year)))
    requests = []
    for period_end in period_ends(extracts.root):
        for key, names, job_name, partition_of in targets:
            if key == CIN_CENSUS_KEY and (period_end.month, period_end.day) != (3, 31):
                continue
            files = extracts.period_files(period_end, names)
            if not files:
                continue
            combined = hashlib.sha256()
            for path in files:
                stat = path.stat()
                cached = cache.get(str(path))
                if cached and cached[:2] == [stat.st_size, stat.st_mtime_ns]:
                    digest = cached[2]
                else:
                    digest = file_digest(path)[0]
                    cache[str(path)] = [stat.st_size, stat.st_mtime_ns, digest]
                combined.update(path.relative_to(extracts.root).as_posix().encode() + b"\0" + digest.encode())
            partition = partition_of(period_end)
            asset_name = key.to_user_string()
            requests.append(RunRequest(run_key=f"{asset_name}:{partition}:{combined.hexdigest()[:16]}",
                                       job_name=job_name, partition_key=partition, asset_selection=[key],
                                       tags={"neglect/trigger": "incoming_files_sensor"}))
    return requests


@sensor(
    jobs=[quarterly_refresh, cin_census_refresh],
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.STOPPED,
    description="Loads an extract's period when a file for it arrives or changes in the incoming folder.",
)


def incoming_files_sensor(context: SensorEvaluationContext, extracts: IncomingExtracts) -> SensorResult:
    cache = json.loads(context.cursor) if context.cursor else {}
    if not Path(extracts.incoming_dir).is_dir():
        return SensorResult(skip_reason=f"the incoming folder {extracts.incoming_dir} does not exist")
    requests = _requests(extracts, cache)
    return SensorResult(run_requests=requests, cursor=json.dumps(cache))
