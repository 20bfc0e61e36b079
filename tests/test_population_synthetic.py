"""The synthetic partnership's population loads, and its denominators equal the true head count."""
from __future__ import annotations

import duckdb
import pandas as pd
from dagster import materialize

from pipelines.assets.population import population_denominators
from pipelines.checks import population_checks
from pipelines.resources import IncomingExtracts, RefreshState, WarehouseResource


def test_denominators_from_the_synthetic_partnership_match_the_truth(partnership, tmp_path):
    folder, _ = partnership
    warehouse = tmp_path / "neglect.duckdb"
    result = materialize(
        [population_denominators, *population_checks],
        resources={"warehouse": WarehouseResource(database=str(warehouse)),
                   "extracts": IncomingExtracts(incoming_dir=str(folder / "incoming")), "refresh": RefreshState()},
    )
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        loaded = conn.execute(
            "SELECT mid_year, la_name, sum(population) FROM raw.ons_population GROUP BY ALL").fetchall()
    loaded = {(int(y), la): int(n) for y, la, n in loaded}
    # independent head count from truth: children aged 0-17 on 30 June, by where their household lived
    persons = pd.read_csv(folder / "truth" / "persons.csv", usecols=["role", "dob", "household_id"])
    kids = persons[persons["role"] == "child"]
    addresses = pd.read_csv(folder / "truth" / "addresses.csv", parse_dates=["from_date", "to_date"])
    la_names = {"991": "Northbrook", "992": "Eastmere"}
    assert {y for y, _ in loaded} == set(range(2020, 2026))  # every mid-year the census years need
    for year in range(2020, 2026):
        day = pd.Timestamp(f"{year}-06-30")
        dob = pd.to_datetime(kids["dob"])
        eighteenth = dob + pd.DateOffset(years=18)
        present = kids[(dob <= day) & (eighteenth > day)]
        here = addresses[(addresses["from_date"] <= day) & (addresses["to_date"].isna() | (addresses["to_date"] > day))]
        counts = present.merge(here, on="household_id")["lea"].astype(str).map(la_names).value_counts()
        for la, n in counts.items():
            assert loaded[(year, la)] == n, (year, la)
