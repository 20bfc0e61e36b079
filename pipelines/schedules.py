"""Schedules. Extracts for a quarter arrive in the weeks after it ends, so the refresh
runs at 06:00 on the 15th of January, April, July and October for the quarter that
has just ended (e.g. 15 January 2025 -> the quarter ending 31 December 2024).

The run request carries the quarter's partition key (and the quarter end in the tag
``neglect/quarter_end``). The CIN census, yearly, is loaded by the incoming-files sensor
or ``neglect run``. The schedule is STOPPED by default: turn it on in the Dagster UI
(it needs the daemon, which ``dagster dev`` runs).
"""

from dagster import DefaultScheduleStatus, RunRequest, ScheduleEvaluationContext, schedule

from .jobs import QUARTER_END_TAG
from .partitions import TIMEZONE, last_quarter_end_before, partition_key_for_quarter_end

QUARTERLY_CRON = "0 6 15 1,4,7,10 *"


def build_quarterly_schedule(quarterly_refresh):
    """The schedule of ``quarterly_refresh`` (built with the jobs from the source registry)."""

    @schedule(
        name="quarterly_refresh_schedule",
        cron_schedule=QUARTERLY_CRON,
        job=quarterly_refresh,
        execution_timezone=TIMEZONE,
        default_status=DefaultScheduleStatus.STOPPED,
        description="06:00 on 15 Jan/Apr/Jul/Oct: refresh for the quarter that has just ended.",
    )
    def quarterly_refresh_schedule(context: ScheduleEvaluationContext) -> RunRequest:
        ended = last_quarter_end_before(context.scheduled_execution_time.date())
        return RunRequest(run_key=f"quarter-{ended.isoformat()}",
                          partition_key=partition_key_for_quarter_end(ended),
                          tags={QUARTER_END_TAG: ended.isoformat()})

    return quarterly_refresh_schedule
