"""Project settings: ``settings.toml`` defaults, overridden by ``NEGLECT_*`` environment variables.

``load_settings()`` returns one frozen :class:`Settings`. For every field ``name`` the value
comes from the environment variable ``NEGLECT_<NAME>`` when set, otherwise from
``settings.toml`` at the project root, otherwise from the default below. Paths are
resolved against the project root (the folder holding ``settings.toml``; override it
with ``NEGLECT_PROJECT_ROOT``), so every command sees the same absolute paths
whatever folder it is started from.
"""
from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

ENV_PREFIX = "NEGLECT_"
SETTINGS_FILE = "settings.toml"
# pipelines/settings.py -> the repository root (where settings.toml and dagster.yaml live)
_DEFAULT_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Settings:
    """Resolved settings. Path fields are absolute."""

    project_root: Path
    synthetic_dir: Path = Path("data/synthetic")
    incoming_dir: Path = Path("data/synthetic/incoming")
    warehouse_path: Path = Path("warehouse/neglect.duckdb")
    identity_path: Path = Path("warehouse/identity.duckdb")
    pseudonym_key_path: Path = Path("secrets/pseudonym.key")
    output_dir: Path = Path("output")
    dagster_home: Path = Path(".")
    suppression_threshold: int = 5
    max_file_reject_share: float = 0.5  # a file with more of its rows rejected fails its asset's structure check
    linkage_match_threshold: float = 0.95
    linkage_review_threshold: float = 0.50
    linkage_upper_threshold: float = 0.99
    linkage_model_file: str = ""
    clerical_review_dir: Path = Path("warehouse/clerical_review")
    synthetic_seed: int = 20261123
    synthetic_children: int = 105_000
    source_registry_dirs: str = ""  # extra source declarations (folders, separated by os.pathsep)
    wait_minutes: float = 10.0  # how long `neglect run` waits for another run (or process) using the warehouse
    warehouse_storage_version: str = "v1.1.0"  # DuckDB storage_compatibility_version of a new warehouse
    protective_marking: str = "OFFICIAL-SENSITIVE"  # printed at the head and foot of every page of the board report
    # draws kept per chain (after as many burn-in sweeps) by the latent-class sampler of the published hidden-prevalence
    # estimate (models/mse/latent_class.py DEFAULTS); fewer is faster and less precise (the tests' session refresh: 100)
    latent_class_draws: int = 500
    # DuckDB's memory limit for each database it opens (warehouse, identity store), a size such as "2GB"; empty:
    # a quarter of the machine's memory shared by the two that can be open at once (ingest/connections.py)
    duckdb_memory_limit: str = ""
    duckdb_threads: int = 0  # threads each DuckDB database may use; 0: DuckDB's default (one per core)

    @property
    def registry_dirs(self) -> tuple[str, ...]:
        """``source_registry_dirs`` as absolute folder paths (relative ones from the project root)."""
        from sources.registry import registry_dirs_from

        return tuple(str(p if Path(p).is_absolute() else self.project_root / p)
                     for p in registry_dirs_from(self.source_registry_dirs))

    def __post_init__(self) -> None:
        """Relative paths (e.g. a default not overridden in a test) are taken from the project root."""
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name != "project_root" and isinstance(value, Path) and not value.is_absolute():
                object.__setattr__(self, f.name, self.project_root / value)

    @property
    def dagster_storage_dir(self) -> Path:
        """Dagster's run history, event logs and compute logs (see dagster.yaml)."""
        return self.dagster_home / ".dagster"

    @property
    def linkage_model_path(self) -> Path | None:
        """A saved Splink model (JSON) to use instead of training on every run; None: train."""
        if not self.linkage_model_file:
            return None
        path = Path(self.linkage_model_file).expanduser()
        return path if path.is_absolute() else self.project_root / path

    @property
    def uses_synthetic_incoming(self) -> bool:
        """True when the pipeline reads the synthetic partnership's extracts."""
        return self.incoming_dir == self.synthetic_dir / "incoming"

    def as_rows(self) -> list[tuple[str, str, str]]:
        """(name, environment variable, value) for every setting, for printing."""
        rows = [("project_root", ENV_PREFIX + "PROJECT_ROOT", str(self.project_root))]
        for f in dataclasses.fields(self):
            if f.name != "project_root":
                rows.append((f.name, env_var(f.name), str(getattr(self, f.name))))
        return rows


def env_var(name: str) -> str:
    """The environment variable that overrides setting ``name``."""
    return ENV_PREFIX + name.upper()


class SettingsError(ValueError):
    """A setting has a value of the wrong type."""


def project_root(environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    root = env.get(ENV_PREFIX + "PROJECT_ROOT")
    return Path(root).expanduser().resolve() if root else _DEFAULT_ROOT


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read ``settings.toml`` at the project root, apply ``NEGLECT_*`` overrides, resolve paths."""
    env = os.environ if environ is None else environ
    root = project_root(env)
    file_values: dict = {}
    path = root / SETTINGS_FILE
    if path.exists():
        with path.open("rb") as fh:
            file_values = tomllib.load(fh)
    values: dict = {"project_root": root}
    for f in dataclasses.fields(Settings):
        if f.name == "project_root":
            continue
        raw = env.get(env_var(f.name), file_values.get(f.name, f.default))
        values[f.name] = _convert(f.name, raw, type(f.default), root)
    unknown = set(file_values) - set(values)
    if unknown:
        raise SettingsError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))}")
    return Settings(**values)


def _convert(name: str, raw, kind: type, root: Path):
    if issubclass(kind, Path):
        p = Path(str(raw)).expanduser()
        return (p if p.is_absolute() else root / p).resolve()
    if kind is int:
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise SettingsError(f"setting {name} ({env_var(name)}) must be a whole number, got {raw!r}") from None
    if kind is float:
        try:
            return float(raw)
        except (TypeError, ValueError):
            raise SettingsError(f"setting {name} ({env_var(name)}) must be a number, got {raw!r}") from None
    return str(raw)
