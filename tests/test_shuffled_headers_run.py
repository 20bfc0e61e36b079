"""Headers shuffled into every position, through the whole pipeline: no name, NHS number or UPN anywhere
but the identity store (and the clerical-review folder, which is for identifiers).

Every other CSV extract of a synthetic partnership gets its header row rotated, each by a different step,
so that a source's columns land under its other headers across the partnership (surnames under Gender,
NHS numbers under Service, names under a team ...); the files left as they were load, link and feed the
marts, so every stage runs. (tests/test_hostile_corpus.py puts every column under every header, file by
file, through the readers.) Names are first replaced by made-up tokens (``Nm`` + 8 letters and digits, one
per name, so linkage still has something to match and a hit cannot be an ordinary word). After `neglect run`, every table of schema ``quality``, everything in ``logs/``,
Dagster's storage (``.dagster/``: run and event databases, compute logs) and the Data Docs are searched for
every token, NHS number and UPN of the files.

Slow (a partnership and a run, about 3 minutes): `pytest -m slow`.
"""
from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[1]
NAME_HEADERS = {"forename", "surname", "first name", "last name", "child forename", "child surname"}
TOKEN = re.compile(rb"[A-Za-z0-9]+")


def _token(name: str) -> str:
    return "Nm" + base64.b32encode(hashlib.sha1(name.strip().upper().encode()).digest()).decode()[:8]


def _shuffle(incoming: Path) -> set[str]:
    """Rotate every other extract CSV's header (a different step per file) after replacing names by tokens; the
    identifiers written (tokens, NHS numbers, UPNs)."""
    identifiers: set[str] = set()
    files = sorted(p for p in incoming.glob("*/*/*.csv") if p.relative_to(incoming).parts[0] != "reference")
    for i, path in enumerate(files):
        raw = path.read_bytes()
        encoding = "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "cp1252"
        rows = list(csv.reader(io.StringIO(raw.decode(encoding), newline="")))
        header, body = rows[0], rows[1:]
        for j, h in enumerate(header):
            key = h.strip().lower()
            if key in NAME_HEADERS:
                for row in body:
                    if j < len(row) and row[j].strip():
                        row[j] = _token(row[j])
                        identifiers.add(row[j])
            elif key in ("nhs number", "upn"):
                identifiers.update(row[j] for row in body if j < len(row) and len(row[j]) >= 10)
        shift = 0 if i % 2 == 0 else 1 + (i // 2) % (len(header) - 1)
        rotated = header[shift:] + header[:shift]
        out = io.StringIO()
        csv.writer(out, lineterminator="\r\n").writerows([rotated, *body])
        path.write_bytes(out.getvalue().encode(encoding, errors="replace"))
    return identifiers


def _tokens(data: bytes) -> set[str]:
    return {t.decode() for t in TOKEN.findall(data)}


@pytest.mark.slow
def test_no_identifier_leaves_the_identity_store_whatever_the_headers(tmp_path):
    from sources.synthetic.config import GeneratorConfig
    from sources.synthetic.generate import generate_partnership

    partnership = tmp_path / "partnership"
    generate_partnership(GeneratorConfig(children=3000), partnership)
    identifiers = _shuffle(partnership / "incoming")
    assert len(identifiers) > 1000
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(REPO / "dagster.yaml", root / "dagster.yaml")
    (root / "settings.toml").write_text(f'incoming_dir = "{partnership / "incoming"}"\n'
                                        f'synthetic_dir = "{partnership}"\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEGLECT_")}
    env.update(NEGLECT_PROJECT_ROOT=str(root), DAGSTER_HOME=str(root))
    proc = subprocess.run([sys.executable, "-m", "pipelines.cli", "run", "--no-generate"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=1800)
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "materialised marts/neglect_prevalence" in proc.stdout  # the intact half went all the way
    leaks: dict[str, list[str]] = {}
    with duckdb.connect(str(root / "warehouse" / "neglect.duckdb"), read_only=True) as conn:
        for (table,) in conn.execute("SELECT table_name FROM information_schema.tables "
                                     "WHERE table_schema = 'quality'").fetchall():
            text = "\n".join(map(str, conn.execute(f"SELECT * FROM quality.{table}").fetchall())).encode()
            found = _tokens(text) & identifiers
            if found:
                leaks[f"quality.{table}"] = sorted(found)[:5]
    for folder in (root / "logs", root / ".dagster", root / "output" / "data_docs"):
        for path in (p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []:
            found = _tokens(path.read_bytes()) & identifiers
            if found:
                leaks[str(path.relative_to(root))] = sorted(found)[:5]
    print(proc.stdout[-3000:], proc.stderr[-3000:])
    assert not leaks, leaks
    with duckdb.connect(str(root / "warehouse" / "identity.duckdb"), read_only=True) as conn:  # the control
        stored = {v for (v,) in conn.execute("SELECT surname FROM identifiers.person_list").fetchall()}
    assert stored & identifiers
