"""Same seed, same files, byte for byte; a different seed, different files."""
import json

from sources.synthetic.config import GeneratorConfig
from sources.synthetic.generate import generate_partnership


def _hashes(folder):
    return json.loads((folder / "manifest.json").read_text())["files"]


def test_same_seed_gives_identical_bytes(tmp_path):
    small = GeneratorConfig(children=4_000, seed=7)
    generate_partnership(small, tmp_path / "a")
    generate_partnership(small, tmp_path / "b")
    a, b = _hashes(tmp_path / "a"), _hashes(tmp_path / "b")
    assert len(a) > 100 and a == b
    assert any("/partner_police_concerns.csv" in f for f in a)  # the partner agencies' files too
    generate_partnership(GeneratorConfig(children=4_000, seed=8), tmp_path / "c")
    assert _hashes(tmp_path / "c") != a
