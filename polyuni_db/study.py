"""Study presets: sweep files shipped inside the package (``polyuni_db/presets/NAME.toml``). A
study is the sweep of a preset (or of any sweep file: copy a preset to make your own), then the
report. Runs already stored are skipped; a run that cannot be had (Google News offline) is
recorded, so the report says so."""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Callable

from polyuni_db.errors import PolyuniError
from polyuni_db.runs.executor import DEFAULT_EXECUTOR, RunOutcome, SweepStatus
from polyuni_db.runs.sweep import PlannedRun, load_sweep, run_sweep
from polyuni_db.sources.base import Phase, Progress, no_phase, no_progress
from polyuni_db.store.db import DEFAULT_LOCK_TIMEOUT

DEFAULT_PRESET = "default"  # every section of the report (presets/default.toml)


def presets() -> dict[str, str]:
    """Every shipped preset by name, with the first line of its description."""
    found = {}
    for resource in sorted(files("polyuni_db.presets").iterdir(), key=lambda r: r.name):
        if resource.name.endswith(".toml"):
            first = resource.read_text(encoding="utf-8").splitlines()[0].lstrip("# ")
            found[resource.name.removesuffix(".toml")] = first
    return found


def preset_path(preset: str | Path) -> Path:
    """The file of a shipped preset's name, or a sweep file's path (anything with a / or ending .toml)."""
    text = str(preset)
    if "/" in text or text.endswith(".toml"):
        return Path(preset)
    if text not in presets():
        raise PolyuniError(f"unknown preset {text!r}: use one of {', '.join(presets())} or a sweep file (./my_study.toml)")
    return Path(str(files("polyuni_db.presets") / f"{text}.toml"))


def plan(preset: str | Path, with_google_news: bool = False, progress: Progress = no_progress) -> list[PlannedRun]:
    """The preset's runs, in its file's order."""
    return load_sweep(preset_path(preset), with_google_news, progress).runs


def not_requested(preset: str | Path, with_google_news: bool) -> list[tuple[str, str]]:
    """The preset's models fetched only on request that this study leaves out, and why (label, reason)."""
    return load_sweep(preset_path(preset), with_google_news).not_requested


def run_study(
    db_path: Path,
    preset: str | Path,
    with_google_news: bool = False,
    track: bool = True,
    progress: Progress = no_progress,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    on_outcome: Callable[[RunOutcome], None] = lambda outcome: None,
    rotations: int | None = None,
    executor: str = DEFAULT_EXECUTOR,
    bundles: Path | None = None,
    on_status: Callable[[SweepStatus], None] = lambda status: None,
    yes: bool = False,
    phase: Phase = no_phase,
) -> list[RunOutcome]:
    """The sweep of the preset (``rotations``: rotation nulls instead of the preset's count)."""
    outcomes, _ = run_sweep(db_path, preset_path(preset), executor, bundles, track=track, progress=progress,
                            lock_timeout=lock_timeout, on_outcome=on_outcome, on_status=on_status,
                            with_on_request=with_google_news, rotations=rotations, yes=yes, phase=phase)
    return outcomes
