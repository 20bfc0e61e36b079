"""The board report and its exports (Plotly, with disclosure control applied to every published count).

* ``tables.py``: the published tables of a quarter, after disclosure control;
* ``publication.py``, ``disclosure.py``: one protection for everything a refresh publishes, and its record;
* ``figures.py``, ``report.py``: the charts and the self-contained HTML report;
* ``exports.py``, ``mart_files.py``: the workbook, CSV and PNG exports, and the marts as files for analysts;
* ``audit.py``: the intruder's attack on every pack a refresh wrote (used by the tests).

Layer: imports ``models``, ``checks`` and ``sources`` (docs/architecture.md, tests/test_layers.py).
"""
