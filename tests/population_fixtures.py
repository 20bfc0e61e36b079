"""Tiny ONS-style population files for the reader and asset tests."""
from __future__ import annotations

from pathlib import Path

HEADER = "WD24CD,WD24NM,LAD24CD,LAD24NM,sex,age,population_{year}"
WARDS = [  # ward code, ward name, LA code, LA name
    ("E05900001", "Saltwell", "E06000901", "Northbrook"),
    ("E05900002", "Hollins Green", "E06000901", "Northbrook"),
    ("E05910001", "Marsh End", "E06000902", "Eastmere"),
]


def population_lines(year: int, ages=range(18), wards=WARDS, count=lambda ward, sex, age: 10 + age) -> list[str]:
    lines = [HEADER.format(year=year)]
    for code, name, la, la_name in wards:
        for sex in (1, 2):
            for age in ages:
                lines.append(f"{code},{name},{la},{la_name},{sex},{age},{count(code, sex, age)}")
    return lines


def write_population(folder: Path, year: int, lines: list[str] | None = None, encoding: str = "utf-8",
                     newline: str = "\n") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"population_mid_{year}.csv"
    lines = population_lines(year) if lines is None else lines
    path.write_bytes((newline.join(lines) + newline).encode(encoding))
    return path
