"""Data-quality rules for the ONS population denominators (table ``raw.ons_population``).

Plain functions over a DuckDB connection, returning a :class:`RuleOutcome`; the Dagster
asset checks in :mod:`pipelines.checks` wrap them. Metadata holds counts and, at most,
a few ward or local-authority codes (area codes, never rows about people).

- :func:`denominators_complete` (blocking): every (mid_year, ward) has exactly 36 rows,
  one for each age 0-17 and sex 1 and 2; no count is negative or null; every local
  authority's total is above zero in every mid-year; each ward sits in one authority;
  and the reader rejected no row (a rejected row is a missing cell, and a ward whose
  rows were all rejected would otherwise vanish without trace).
- :func:`denominators_plausible` (blocking): no cell (ward, sex, single year of age) holds more
  than ``MAX_CELL`` children or more than ``MAX_CELL_TO_MEDIAN`` times the median cell of its
  authority and mid-year (when above ``CELL_FLOOR``), and no authority's 0-17 total exceeds
  ``MAX_AUTHORITY_TOTAL``. A typed 99,999,999 would otherwise turn a rate of about 400 per
  10,000 into 0.24 and be published.
- :func:`denominators_stable` (warning): each authority's 0-17 total changes by less
  than 10 % between consecutive mid-years.
"""
from __future__ import annotations

from dataclasses import dataclass, field

TABLE = "raw.ons_population"
SOURCE = "ons_population"  # the source name rejects are recorded under in quality.rejects
AGES = 18  # single years 0-17
SEXES = (1, 2)
CELLS_PER_WARD = AGES * len(SEXES)  # 36
MAX_YEAR_ON_YEAR_CHANGE = 0.10
# Plausible bounds. England has about 12 million children in 153 authorities; the largest authorities
# (Kent, Birmingham) have about 350,000 aged 0-17, about 10,000 per single year of age and sex; the largest
# wards a few hundred per cell.
MAX_CELL = 20_000  # children in one ward, sex and single year of age
MAX_CELL_TO_MEDIAN = 20  # times the median cell of the authority and mid-year ...
CELL_FLOOR = 100  # ... for cells above this (small wards have cells of a few children)
MAX_AUTHORITY_TOTAL = 1_000_000  # children aged 0-17 in one authority
EXAMPLES = 10  # area codes listed in metadata at most


@dataclass
class RuleOutcome:
    passed: bool
    description: str
    metadata: dict = field(default_factory=dict)


def denominators_complete(conn, table: str = TABLE) -> RuleOutcome:
    """The population table is a full grid of denominators: every ward has 36 rows per mid-year (ages 0-17 x
    sexes 1, 2), counts are present and non-negative, every authority's total is positive, no ward is under
    two authorities, and no row aged 0-17 was rejected by the reader (each would be a missing cell)."""
    total_rows = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    if total_rows == 0:
        return RuleOutcome(False, f"{table} is empty: no population rows were loaded",
                           {"rows": 0, "failing_rows": 0})
    grid = _ward_grid(conn, table)
    values = _value_checks(conn, table)
    rejected_rows, first_reject = _rejected_rows(conn)
    problems = _problems(grid, values, rejected_rows, first_reject)
    metadata = {
        "rows": int(total_rows),
        "ward_years": int(grid["ward_years"]),
        "incomplete_ward_years": int(grid["incomplete"]),
        "missing_cells": int(grid["missing_cells"]),
        "duplicate_rows": int(grid["duplicate_rows"]),
        "off_grid_rows": int(grid["off_grid_rows"]),
        "negative_counts": int(values["negative"]),
        "null_values": int(values["null"]),
        "authority_years_not_positive": len(values["la_zero"]),
        "wards_in_several_authorities": len(values["split_wards"]),
        "failing_rows": int(values["failing_rows"]) + rejected_rows,
        "rejected_rows": rejected_rows,
    }
    shown = (list(grid["examples"] or [])[:EXAMPLES] + values["la_zero"][:EXAMPLES]
             + values["split_wards"][:EXAMPLES])
    if shown:
        metadata["examples (mid-year and area code)"] = ", ".join(shown)
    description = ("every ward has 36 rows per mid-year, counts are whole and non-negative, "
                   "every authority total is positive") if not problems else "; ".join(problems)
    return RuleOutcome(not problems, description, metadata)


def _ward_grid(conn, table: str) -> dict:
    """Per ward and mid-year, whether it has exactly its 36 cells: ward-years, incomplete ones, missing,
    duplicated and off-grid rows, and the incomplete ward-years as 'mid-year ward' examples."""
    row = conn.execute(f"""
        WITH per_ward AS (
            SELECT mid_year, ward_code,
                   count(*) AS n_rows,
                   count(DISTINCT (sex, age)) FILTER (WHERE sex IN {SEXES} AND age BETWEEN 0 AND {AGES - 1}) AS n_cells,
                   count(*) FILTER (WHERE sex NOT IN {SEXES} OR sex IS NULL OR age NOT BETWEEN 0 AND {AGES - 1}
                                     OR age IS NULL) AS n_off_grid
            FROM {table} GROUP BY mid_year, ward_code
        )
        SELECT count(*) AS ward_years,
               count(*) FILTER (WHERE n_rows <> {CELLS_PER_WARD} OR n_cells <> {CELLS_PER_WARD}) AS incomplete,
               coalesce(sum({CELLS_PER_WARD} - n_cells), 0) AS missing_cells,
               coalesce(sum(n_rows - n_cells - n_off_grid), 0) AS duplicate_rows,
               coalesce(sum(n_off_grid), 0) AS off_grid_rows,
               list(mid_year || ' ' || ward_code ORDER BY mid_year, ward_code)
                   FILTER (WHERE n_rows <> {CELLS_PER_WARD} OR n_cells <> {CELLS_PER_WARD}) AS examples
        FROM per_ward
    """).fetchone()
    return dict(zip(("ward_years", "incomplete", "missing_cells", "duplicate_rows", "off_grid_rows", "examples"), row))


def _value_checks(conn, table: str) -> dict:
    """Negative and null counts, authority-years totalling zero or less, wards under two authorities, and
    the rows that fail any check (of the ward grid too)."""
    negative, null = conn.execute(f"""
        SELECT count(*) FILTER (WHERE population < 0), count(*) FILTER (WHERE population IS NULL
               OR ward_code IS NULL OR la_code IS NULL OR mid_year IS NULL)
        FROM {table}
    """).fetchone()
    la_zero = conn.execute(f"""
        SELECT list(mid_year || ' ' || la_code ORDER BY mid_year, la_code) FROM (
            SELECT mid_year, la_code, sum(population) AS total FROM {table}
            GROUP BY mid_year, la_code HAVING coalesce(sum(population), 0) <= 0)
    """).fetchone()[0] or []
    split_wards = conn.execute(f"""
        SELECT list(mid_year || ' ' || ward_code ORDER BY mid_year, ward_code) FROM (
            SELECT mid_year, ward_code FROM {table} GROUP BY mid_year, ward_code
            HAVING count(DISTINCT la_code) > 1)
    """).fetchone()[0] or []
    failing_rows = conn.execute(f"""
        WITH bad_wards AS (
            SELECT mid_year, ward_code FROM {table} GROUP BY mid_year, ward_code
            HAVING count(*) <> {CELLS_PER_WARD}
                OR count(DISTINCT (sex, age)) FILTER (WHERE sex IN {SEXES} AND age BETWEEN 0 AND {AGES - 1})
                   <> {CELLS_PER_WARD}
                OR count(DISTINCT la_code) > 1
        )
        SELECT count(*) FROM {table} t LEFT JOIN bad_wards b
               ON t.mid_year = b.mid_year AND t.ward_code = b.ward_code
        WHERE b.ward_code IS NOT NULL OR t.population < 0 OR t.population IS NULL
           OR t.ward_code IS NULL OR t.la_code IS NULL
    """).fetchone()[0]
    return {"negative": negative, "null": null, "la_zero": la_zero, "split_wards": split_wards,
            "failing_rows": failing_rows}


def _problems(grid: dict, values: dict, rejected_rows: int, first_reject: str | None) -> list[str]:
    """What is wrong, in words (empty when the denominators are complete)."""
    problems = []
    if rejected_rows:
        problems.append(f"{rejected_rows} rows aged 0-17 were rejected by the reader, so their cells are "
                        f"missing (see quality.rejects; the first: {first_reject})")
    if grid["incomplete"]:
        problems.append(f"{grid['incomplete']} of {grid['ward_years']} ward-years do not have exactly "
                        f"{CELLS_PER_WARD} rows (ages 0-17 x sexes 1, 2): {grid['missing_cells']} missing, "
                        f"{grid['duplicate_rows']} duplicated, {grid['off_grid_rows']} outside the grid")
    if values["negative"]:
        problems.append(f"{values['negative']} negative counts")
    if values["null"]:
        problems.append(f"{values['null']} rows with a null count, ward, authority or mid-year")
    if values["la_zero"]:
        problems.append(f"{len(values['la_zero'])} authority-years with a total of zero or less")
    if values["split_wards"]:
        problems.append(f"{len(values['split_wards'])} ward-years recorded under more than one authority")
    return problems


def _rejected_rows(conn) -> tuple[int, str | None]:
    """How many rows of the population files the reader rejected (each is a missing denominator
    cell), and the first rejection as "file, line N: message"."""
    exists = conn.execute("SELECT count(*) FROM information_schema.tables "
                          "WHERE table_schema = 'quality' AND table_name = 'rejects'").fetchone()[0]
    if not exists:
        return 0, None
    count, first = conn.execute(f"""
        SELECT count(DISTINCT (file, location)),
               arg_min(file || ', ' || location || ': ' || message,
                       (file, try_cast(regexp_extract(location, '[0-9]+') AS BIGINT)))
        FROM quality.rejects WHERE source = '{SOURCE}'
    """).fetchone()
    return int(count), first


def denominators_plausible(conn, table: str = TABLE) -> RuleOutcome:
    """Blocking: no implausible cell or authority total (see module docstring)."""
    cells = conn.execute(f"""
        WITH medians AS (
            SELECT mid_year, la_code, median(population) AS median_cell FROM {table} GROUP BY mid_year, la_code
        )
        SELECT t.mid_year, t.la_code, t.ward_code, t.sex, t.age, t.population, m.median_cell
        FROM {table} t JOIN medians m USING (mid_year, la_code)
        WHERE t.population > {MAX_CELL}
           OR (t.population > {CELL_FLOOR} AND t.population > {MAX_CELL_TO_MEDIAN} * m.median_cell)
        ORDER BY t.population DESC, t.mid_year, t.ward_code, t.sex, t.age
    """).fetchall()
    totals = conn.execute(f"""
        SELECT mid_year, la_code, sum(population) AS total FROM {table} GROUP BY mid_year, la_code
        HAVING sum(population) > {MAX_AUTHORITY_TOTAL} ORDER BY mid_year, la_code
    """).fetchall()
    problems = [f"mid-{y} ward {ward} sex {sex} age {age}: {n:,} children (the authority's median cell is "
                f"{median:,.0f})" for y, _, ward, sex, age, n, median in cells[:EXAMPLES]]
    problems += [f"mid-{y} authority {la}: {n:,} children aged 0-17 in all" for y, la, n in totals[:EXAMPLES]]
    metadata = {"implausible_cells": len(cells), "implausible_authority_totals": len(totals),
                "bounds": f"a cell at most {MAX_CELL:,} and at most {MAX_CELL_TO_MEDIAN} x its authority's median "
                          f"cell (when above {CELL_FLOOR}); an authority at most {MAX_AUTHORITY_TOTAL:,}"}
    if problems:
        return RuleOutcome(False, f"{len(cells)} implausible population cell(s) and {len(totals)} implausible "
                                  f"authority total(s), so no rate is published from them (a typing slip? check "
                                  f"reference/population/): " + "; ".join(problems) + f". Bounds: {metadata['bounds']}",
                           metadata)
    return RuleOutcome(True, f"every cell and authority total is within plausible bounds ({metadata['bounds']})",
                       metadata)


def denominators_stable(conn, table: str = TABLE, limit: float = MAX_YEAR_ON_YEAR_CHANGE) -> RuleOutcome:
    changes = conn.execute(f"""
        WITH totals AS (
            SELECT la_code, mid_year, sum(population) AS total FROM {table} GROUP BY la_code, mid_year
        ), paired AS (
            SELECT la_code, mid_year, total,
                   lag(total) OVER (PARTITION BY la_code ORDER BY mid_year) AS previous,
                   lag(mid_year) OVER (PARTITION BY la_code ORDER BY mid_year) AS previous_year
            FROM totals
        )
        SELECT la_code, previous_year, mid_year, previous, total,
               CASE WHEN previous > 0 THEN total / previous - 1 END AS change
        FROM paired WHERE previous_year IS NOT NULL ORDER BY la_code, mid_year
    """).fetchall()
    if not changes:
        return RuleOutcome(True, "fewer than two consecutive mid-years per authority: nothing to compare",
                           {"comparisons": 0})
    over = [c for c in changes if c[5] is None or abs(c[5]) >= limit]
    largest = max((abs(c[5]) for c in changes if c[5] is not None), default=0.0)
    metadata = {
        "comparisons": len(changes),
        "changes_of_10_percent_or_more": len(over),
        "largest_change_percent": round(100 * largest, 2),
        "changes": {f"{la} {y0}->{y1}": (None if ch is None else round(100 * ch, 2))
                    for la, y0, y1, _, _, ch in changes},
    }
    if over:
        listed = ", ".join(f"{la} {y0}->{y1} ({'n/a' if ch is None else f'{100 * ch:+.1f} %'})"
                           for la, y0, y1, _, _, ch in over[:EXAMPLES])
        return RuleOutcome(False, f"{len(over)} authority totals changed by {100 * limit:.0f} % or more "
                                  f"between consecutive mid-years: {listed}", metadata)
    return RuleOutcome(True, f"every authority's 0-17 total changed by less than {100 * limit:.0f} % "
                             f"(largest {100 * largest:.1f} %)", metadata)
