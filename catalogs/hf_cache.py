"""The local Hugging Face cache: models found in `models--org--name/snapshots/<rev>/config.json`
as catalog entries. No network. The loader reads it; catalogs/hf.py re-exports it."""

from __future__ import annotations

import json
import os
from pathlib import Path

from engine.model import ModelConfigError

from .entries import ModelEntry


def repo_from_dir(dirname: str) -> tuple[str, str]:
    rest = dirname[len("models--"):]
    org, sep, name = rest.partition("--")
    return (org, name) if sep else ("", org)


class HfScan(list):
    """Models found in the HF cache (a list of ModelEntry) plus what was skipped."""

    def __init__(self, entries=(), skipped_paths=()):
        super().__init__(entries)
        self.skipped_paths: list[str] = list(skipped_paths)
        self.hub: Path | None = None

    @property
    def skipped(self) -> int:
        return len(self.skipped_paths)


def hf_hub_dir(hf_home: str | Path | None = None) -> Path:
    """The hub cache: `hf_home`/hub if given, else $HF_HUB_CACHE (or the older
    $HUGGINGFACE_HUB_CACHE), else $HF_HOME/hub, else $XDG_CACHE_HOME or ~/.cache /huggingface/hub."""
    if hf_home is not None:
        return Path(hf_home).expanduser() / "hub"
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(var):
            return Path(os.environ[var]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    base = Path(os.environ["XDG_CACHE_HOME"]).expanduser() if os.environ.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "huggingface" / "hub"


def _snapshot_config(repo_dir: Path) -> Path | None:
    """config.json of the snapshot `refs/main` points at, else of the newest snapshot."""
    snapshots = repo_dir / "snapshots"
    try:
        ref = (repo_dir / "refs" / "main").read_text(encoding="utf-8").strip()
        candidate = snapshots / ref / "config.json"
        if ref and candidate.is_file():
            return candidate
    except OSError:
        pass
    try:
        revs = [d for d in snapshots.iterdir() if (d / "config.json").is_file()]
    except OSError:
        return None
    if not revs:
        return None
    revs.sort(key=lambda d: d.stat().st_mtime, reverse=True)
    return revs[0] / "config.json"


def scan_hf_cache(hf_home: str | Path | None = None) -> HfScan:
    """Models in the local Hugging Face cache (`models--org--name/snapshots/<rev>/config.json`)
    as catalog entries with id `hf:org/name` (origin "hf-cache"). Snapshots without a readable,
    sizeable config.json are skipped and counted (`.skipped`, `.skipped_paths`). No network."""
    hub = hf_hub_dir(hf_home)
    scan = HfScan()
    scan.hub = hub
    try:
        repos = sorted(d for d in hub.iterdir() if d.name.startswith("models--") and d.is_dir())
    except OSError:
        return scan
    for repo_dir in repos:
        org, name = repo_from_dir(repo_dir.name)
        repo = f"{org}/{name}" if org else name
        config_path = _snapshot_config(repo_dir)
        if config_path is None:
            scan.skipped_paths.append(str(repo_dir))
            continue
        try:
            config = json.loads(config_path.read_text(encoding="utf-8"))
            if not isinstance(config, dict):
                raise ValueError("not a JSON object")
            entry = ModelEntry(
                id=f"hf:{repo}",
                name=repo,
                hf_repo=repo,
                source=f"local Hugging Face cache: {config_path}",
                config=config,
                origin="hf-cache",
                path=str(config_path),
            )
            entry.spec  # noqa: B018 - sized now: an unsupported config is skipped, not listed
        except (OSError, ValueError, ModelConfigError):
            scan.skipped_paths.append(str(config_path))
            continue
        scan.append(entry)
    return scan
