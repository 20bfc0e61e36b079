"""Benchmark: the pipeline's linkage alone (``link_partnership`` and ``write_linkage_tables``) on a copy of a
run's warehouse: wall and CPU seconds, peak resident memory, seconds by step; its four tables saved as Parquet
so two versions of the code can be compared row for row.

Run by hand (not in CI) after a `neglect run` (e.g. one of ``bench/refresh_run.py``'s scratch folders):

    .venv/bin/python bench/linkage_memory.py --run /tmp/refresh_bench --out /tmp/linkage_after --memory-limit 1GB
    PYTHONPATH=../main .venv/bin/python bench/linkage_memory.py --run /tmp/refresh_bench --out /tmp/linkage_before
    .venv/bin/python bench/linkage_memory.py --compare /tmp/linkage_before /tmp/linkage_after

``PYTHONPATH`` points at another checkout to run its linkage. ``--run``: a folder holding
``warehouse/neglect.duckdb`` and ``warehouse/identity.duckdb`` (the warehouse is copied into ``--out``, so
the run's own is not touched; the identity store is only read). The previous
run's ``linkage.person_links`` in the copy are the previous keys, as in a second `neglect run`.
``--memory-limit``: DuckDB's memory limit for the warehouse connection (as setting ``duckdb_memory_limit``;
default DuckDB's own, 80 % of memory). Peak memory is ``ru_maxrss`` of this process (DuckDB runs inside it);
CPU seconds are this process's (all threads). ``--compare A B`` prints, for each table, the rows only in A and
only in B (as multisets) and whether the column types agree, and exits 1 when anything differs.
"""
from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import time
from pathlib import Path

import duckdb

TABLES = ("linkage.person_links", "linkage.family_links", "linkage.person_links_sensitivity",
          "quality.linkage_summary")


def link(run: Path, out: Path, memory_limit: str) -> dict:
    from models.linkage.run import link_partnership, previous_person_links, write_linkage_tables

    out.mkdir(parents=True, exist_ok=True)
    warehouse = out / "neglect.duckdb"
    shutil.copy2(run / "warehouse" / "neglect.duckdb", warehouse)
    started, cpu = time.monotonic(), time.process_time()
    conn = duckdb.connect(str(warehouse), config={"memory_limit": memory_limit} if memory_limit else {})
    try:
        previous = previous_person_links(conn)
        result = link_partnership(conn, run / "warehouse" / "identity.duckdb", previous=previous,
                                  memory_limit=memory_limit or None)
        linked = time.monotonic()
        write_linkage_tables(conn, result)
        figures = {"code": str(Path(sys.modules["models.linkage.run"].__file__).parent),
                   "memory_limit": memory_limit or "DuckDB default",
                   "link_s": round(linked - started, 1), "write_s": round(time.monotonic() - linked, 1),
                   "cpu_s": round(time.process_time() - cpu, 1),
                   "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
                   "steps_s": {k: round(v, 1) for k, v in result.seconds.items()},
                   "children_steps_s": {k: round(v, 1) for k, v in result.children.seconds.items()},
                   "records": len(result.children.links) + len(result.adults.links)}
        for table in TABLES:
            conn.execute(f"COPY (SELECT * FROM {table}) TO '{out / table}.parquet'")
    finally:
        conn.close()
    return figures


def compare(a: Path, b: Path) -> bool:
    """Print the differences between two outputs of this benchmark; True when there are none."""
    conn = duckdb.connect()
    same = True
    for table in TABLES:
        x, y = f"'{a / table}.parquet'", f"'{b / table}.parquet'"
        only_a = conn.execute(f"SELECT count(*) FROM (SELECT * FROM {x} EXCEPT ALL SELECT * FROM {y})").fetchall()[0][0]
        only_b = conn.execute(f"SELECT count(*) FROM (SELECT * FROM {y} EXCEPT ALL SELECT * FROM {x})").fetchall()[0][0]
        types = [[r[:2] for r in conn.execute(f"DESCRIBE SELECT * FROM {p}").fetchall()] for p in (x, y)]
        rows = conn.execute(f"SELECT count(*) FROM {x}").fetchall()[0][0]
        print(f"{table}: {rows:,} rows; only in the first {only_a}, only in the second {only_b}; "
              f"column types {'agree' if types[0] == types[1] else 'DIFFER'}")
        same &= only_a == 0 and only_b == 0 and types[0] == types[1]
    print("identical" if same else "different")
    return same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--memory-limit", default="")
    parser.add_argument("--compare", type=Path, nargs=2)
    args = parser.parse_args()
    if args.compare:
        sys.exit(0 if compare(*args.compare) else 1)
    if not args.run or not args.out:
        parser.error("--run and --out are needed (or --compare A B)")
    print(json.dumps(link(args.run, args.out, args.memory_limit), indent=1))


if __name__ == "__main__":
    main()
