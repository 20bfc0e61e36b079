"""notebooks/explore_marts.ipynb, executed end to end against the session's warehouse.

The notebook runs in a fresh ipykernel started with this interpreter (the project's venv), pointed at the
warehouse the session's full refresh built through ``NEGLECT_WAREHOUSE_PATH``. Every cell must run without
error; the ward table must hold every ward row of the prevalence mart, the hand-made capture-recapture
estimate must equal the mart's, tables must mask counts of 1-4, and no output may hold anything that looks
like a person's identifier.
"""
from __future__ import annotations

import json
import os
import re
import sys
from io import StringIO
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from traitlets import default

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "explore_marts.ipynb"
CELL_TIMEOUT = 120  # seconds per cell
PLOTLY_MIME = "application/vnd.plotly.v1+json"
KERNEL_TAG = "test-kernel-interpreter"
# tagged tables whose count columns must show 1-4 as '<5'
MASKED_TABLES = {"ward-table": ["children"], "custom-age-sex": None, "custom-adult": ["children", "with_adult_services"],
                 "custom-combinations": ["children"], "capture-histories": ["count"]}


class _ThisInterpreterKernel(AsyncKernelManager):
    """Starts ipykernel with this interpreter (sys.executable), ignoring any kernel registered elsewhere."""

    @default("kernel_spec_manager")
    def _only_the_native_kernel(self) -> KernelSpecManager:
        return KernelSpecManager(kernel_dirs=[])  # the 'python3' spec then comes from ipykernel itself


@pytest.fixture(scope="module")
def executed(ingested) -> nbformat.NotebookNode:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(nb, kernel_name="python3", kernel_manager_class=_ThisInterpreterKernel,
                            timeout=CELL_TIMEOUT, resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    env = {**os.environ, "NEGLECT_WAREHOUSE_PATH": str(ingested.settings.warehouse_path)}
    # a last cell, added here only, says which interpreter the kernel ran (test_the_kernel_ran_this_interpreter)
    nb.cells.append(nbformat.v4.new_code_cell("import sys\nprint(sys.executable)", metadata={"tags": [KERNEL_TAG]}))
    return client.execute(env=env)  # raises CellExecutionError on the first failing cell


def _tagged(nb, tag: str) -> list:
    cells = [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"expected one cell tagged {tag!r}"
    return cells[0].outputs


def _table(outputs) -> pd.DataFrame:
    """The DataFrame a cell displayed last, read back from its HTML."""
    html = [o.data["text/html"] for o in outputs if o.output_type in ("execute_result", "display_data")
            and "text/html" in o.data][-1]
    return pd.read_html(StringIO(html), index_col=0)[0]


def _stdout(outputs) -> str:
    return "".join(o.text for o in outputs if o.output_type == "stream" and o.name == "stdout")


def _output_texts(nb) -> list[str]:
    texts = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            texts.append(o.text if o.output_type == "stream" else json.dumps(o.get("data", {})))
    return texts


def test_notebook_is_stored_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


def test_every_cell_runs(executed):
    code = [c for c in executed.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code)
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]


def test_ward_table_has_every_ward(executed, warehouse):
    expected = warehouse.execute("""
        SELECT count(*) FROM marts.neglect_prevalence
        WHERE period_end = (SELECT max(period_end) FROM marts.neglect_prevalence)
          AND measure = '12_month' AND tier_set = '1-4' AND la_code = 'partnership' AND breakdown = 'ward'
    """).fetchall()[0][0]
    assert expected > 0
    assert len(_table(_tagged(executed, "ward-table"))) == expected


def test_hand_estimate_equals_the_mart(executed, warehouse):
    mart = warehouse.execute("""
        SELECT estimate FROM marts.hidden_prevalence
        WHERE period_end = (SELECT max(period_end) FROM marts.hidden_prevalence)
          AND la_code = 'partnership' AND linkage = 'match threshold' AND status = 'estimated'
    """).fetchall()[0][0]
    found = re.search(r"Estimated children \(by hand\): ([\d.]+)", _stdout(_tagged(executed, "hand-estimate")))
    assert found, "the hand re-run printed no estimate"
    assert float(found.group(1)) == pytest.approx(mart, abs=0.006)  # printed to 2 decimals


def test_sensitivity_drops_lists(executed):
    table = _table(_tagged(executed, "sensitivity"))
    assert set(table["lists"]) == {2, 3} and (table["status"] == "estimated").any()


def test_charts_are_offline_plotly_figures(executed):
    for tag in ("ward-chart", "hidden-chart"):
        outputs = _tagged(executed, tag)
        assert any(PLOTLY_MIME in o.get("data", {}) for o in outputs), f"{tag}: no Plotly figure"
    joined = "\n".join(_output_texts(executed))
    assert "<script src=" not in joined and "cdn." not in joined  # nothing to fetch from the internet


def test_small_counts_are_masked(executed):
    for tag, columns in MASKED_TABLES.items():
        table = _table(_tagged(executed, tag))
        values = table[columns] if columns else table
        numbers = values.apply(pd.to_numeric, errors="coerce")
        assert not numbers.isin([1, 2, 3, 4]).any().any(), f"{tag}: an unmasked count of 1-4"


def test_no_identifiers_in_outputs(executed, warehouse):
    joined = "\n".join(_output_texts(executed))
    assert not re.search(r"(?<![\w.])\d{10}(?![\w.])", joined), "a 10-digit number (NHS-number-like)"
    assert not re.search(r"\b[0-9a-f]{64}\b", joined), "a 64-character pseudonym"
    keys = {k for (k,) in warehouse.sql("SELECT DISTINCT person_key FROM marts.child_neglect_tier").fetchall()}
    assert not keys & set(re.findall(r"\w+", joined)), "a person key"


def test_the_kernel_ran_this_interpreter(executed):
    """The notebook ran in the project's venv (this interpreter), not a kernel registered elsewhere."""
    assert _stdout(_tagged(executed, KERNEL_TAG)).strip() == sys.executable
