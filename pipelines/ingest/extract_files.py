"""The extracts' files and how one file is read, in a module worker processes can import cheaply.

Reading runs in spawned worker processes (:mod:`pipelines.ingest.parallel`), which import
the function they run. Keeping these functions out of the Dagster asset modules saves
each worker the two seconds of importing Dagster.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from sources import adult_services, cp_list, early_help, person_list
from sources.cin_census import read_cin_census
from sources.tabular import TableRead

from ..quality_runs import with_rule_findings
from .files import FileLoad, load_cin_census, load_tabular

if TYPE_CHECKING:
    from dagster import AssetKey

CIN_FILE_NAMES = ("cin_census_*.xml", "CIN_*.xml", "cin_*.xml")


@dataclass(frozen=True)
class QuarterlyExtract:
    """A quarterly extract: its source and table name, file names (globs) and reader."""

    name: str  # source name, warehouse table raw.<name> and asset key raw/<name>
    file_names: tuple[str, ...]
    reader: Callable[[Path], TableRead]
    description: str
    dfe_rules: bool = False

    @property
    def key(self) -> AssetKey:
        from dagster import AssetKey  # imported here: worker processes load this module without Dagster

        return AssetKey(["raw", self.name])


EXTRACTS = (
    QuarterlyExtract("cp_list", ("annex_a_list_7_child_protection.xlsx", "annex_a_list_7_child_protection.csv"),
                     cp_list.read_cp_list, "Children subject to a child protection plan (Ofsted Annex A list 7), "
                     "one row per child and plan, as at each quarter end.", dfe_rules=True),
    QuarterlyExtract("early_help", ("early_help_episodes.csv", "early_help_episodes.xlsx"),
                     early_help.read_early_help, "Early help episodes with assessment factors and GCP2 scores."),
    QuarterlyExtract("person_list", ("csc_person_list.csv", "csc_person_list.xlsx"), person_list.read_person_list,
                     "Children's social care person list: one row per child and address (for linkage and wards)."),
    QuarterlyExtract("adult_episodes", ("adult_*_episodes.csv",), adult_services.read_adult_episodes,
                     "Adult services episodes (mental health, substance misuse, domestic abuse, learning "
                     "disability) with the child safeguarding concern flag."),
    QuarterlyExtract("adult_household_children", ("adult_*_household_children.csv",),
                     adult_services.read_adult_household_children,
                     "Children recorded in the households of adult services clients."),
)


def load_extract_file(extract: QuarterlyExtract, incoming: Path, path: Path, period_end: date) -> FileLoad:
    """Read one quarterly extract file and, for sources with DfE-style rules, run them on it."""
    load = load_tabular(extract.name, extract.name, path.resolve(), incoming, period_end, extract.reader)
    return with_rule_findings(load) if extract.dfe_rules else load


def _read_census(path: Path, la_code: str):
    return read_cin_census(path, la_code=la_code)


def load_cin_census_file(incoming: Path, path: Path, period_end: date) -> FileLoad:
    """Read one CIN census file and run the DfE-style rules on it."""
    return with_rule_findings(load_cin_census(path.resolve(), incoming, _read_census))
