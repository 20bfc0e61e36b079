"""Benchmark: time and peak memory to generate a synthetic partnership of a given size.

Run by hand (not in CI), e.g.:

    .venv/bin/python bench/generate_partnership.py --children 1000000 --out /tmp/bench_partnership

Prints wall-clock seconds per step, total, peak resident memory (MiB) and size on disk.
Record results in the README's benchmark table.
"""
from __future__ import annotations

import argparse
import resource
import shutil
import time
from pathlib import Path

from sources.synthetic.config import GeneratorConfig
from sources.synthetic.generate import generate_partnership


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=GeneratorConfig().seed)
    parser.add_argument("--out", type=Path, default=Path("/tmp/bench_partnership"))
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    args = parser.parse_args()
    start = time.perf_counter()
    summary = generate_partnership(GeneratorConfig(seed=args.seed, children=args.children), args.out,
                                   lambda m: print(f"[{time.perf_counter() - start:7.1f}s] {m}", flush=True))
    total = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size_mib = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file()) / 2**20
    print(f"children={args.children:,} seconds={total:.1f} peak_rss_mib={peak_mib:.0f} "
          f"disk_mib={size_mib:.0f} extract_rows={summary['extract_rows']:,}")
    if not args.keep:
        shutil.rmtree(args.out)


if __name__ == "__main__":
    main()
