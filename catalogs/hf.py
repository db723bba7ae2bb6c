"""Hugging Face configs on this machine: import a local config.json into the user catalog, and
list the models in the local Hugging Face cache. Never touches the network."""

from __future__ import annotations

import json
import re
import tomllib
from datetime import date
from pathlib import Path
from typing import Any

import tomli_w

from engine.model import ModelConfigError, from_hf_config

from .errors import CatalogError, Problem
from .files import TextFileError, atomic_write_text, read_text_file
from .hf_cache import HfScan, hf_hub_dir, repo_from_dir, scan_hf_cache
from .loader import FILES, ID_PATTERN, TABLES, ModelEntry, default_user_dir, parse_catalog_text, validate_entry
from .toml_lines import TomlLines

# --------------------------------------------------------------------------------------------
# Ids
# --------------------------------------------------------------------------------------------


def normalize_id(text: str) -> str:
    """A catalog id from a directory or repo name: lowercase, runs of other characters -> '-'."""
    out = re.sub(r"[^a-z0-9.+\-]+", "-", text.strip().lower()).strip("-.+")
    return out


def _snapshot_repo(path: Path) -> tuple[str, str] | None:
    """(org, name) when `path` lies in an HF cache snapshot: .../models--org--name/snapshots/<rev>/."""
    for parent in path.parents:
        if parent.name == "snapshots" and parent.parent.name.startswith("models--"):
            return repo_from_dir(parent.parent.name)
    return None


# --------------------------------------------------------------------------------------------
# Importing a config.json
# --------------------------------------------------------------------------------------------


def _json_key_line(text: str, key: str) -> int | None:
    m = re.search(r'"' + re.escape(key) + r'"\s*:', text)
    return text.count("\n", 0, m.start()) + 1 if m else None


def _drop_nulls(value: Any, dropped: list[str], where: str = "") -> Any:
    """TOML has no null: drop null keys (recursively); a list holding a null is dropped whole."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            path = f"{where}.{k}" if where else str(k)
            if v is None or (isinstance(v, list) and any(x is None for x in v)):
                dropped.append(path)
                continue
            out[str(k)] = _drop_nulls(v, dropped, path)
        return out
    if isinstance(value, list):
        return [_drop_nulls(v, dropped, where) for v in value]
    return value


def import_config_json(path: str | Path, id: str | None = None) -> ModelEntry:
    """A catalog entry (origin "imported") from a local Hugging Face config.json.

    The id defaults to the model directory's name, lowercased and hyphenated; for a file inside
    an HF cache snapshot (`models--org--name/snapshots/<rev>/config.json`) it is `org--name`.
    The config is kept verbatim except for null values, which TOML cannot hold. Raises
    CatalogError (file:line: key: problem) for unreadable JSON or a config that cannot be sized."""
    path = Path(path).expanduser()
    if path.is_dir():
        path = path / "config.json"
    file = str(path)
    try:
        text = read_text_file(path)
    except TextFileError as exc:
        line, col = (exc.line, exc.col) if exc.line > 0 else (None, None)
        raise CatalogError(Problem(file, line, "", exc.message, col=col)) from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CatalogError(Problem(file, exc.lineno, "", f"invalid JSON: {exc.msg}", col=exc.colno)) from exc
    if not isinstance(raw, dict):
        raise CatalogError(Problem(file, 1, "", "expected a JSON object (a Hugging Face config.json)"))

    resolved = path.resolve() if path.exists() else path
    repo = _snapshot_repo(path) or _snapshot_repo(resolved)
    if repo:
        org, name = repo
        default_id = normalize_id(f"{org}--{name}" if org else name)
        hf_repo = f"{org}/{name}" if org else name
        display = hf_repo
    else:
        dirname = path.parent.name or path.stem
        default_id = normalize_id(dirname)
        name_or_path = raw.get("_name_or_path")
        hf_repo = name_or_path if isinstance(name_or_path, str) and re.fullmatch(r"[\w.\-]+/[\w.\-]+", name_or_path) else None
        display = hf_repo or dirname
    entry_id = normalize_id(id) if id is not None else default_id
    if not entry_id or not ID_PATTERN.match(entry_id):
        raise CatalogError(
            Problem(file, None, "id", f"cannot make a catalog id from {id or path.parent.name!r}; pass --id NAME")
        )

    dropped: list[str] = []
    config = _drop_nulls(raw, dropped)
    try:
        from_hf_config(config, id=entry_id, name=display)
    except ModelConfigError as exc:
        key = re.sub(r"\[\d+\]$", "", exc.field)
        raise CatalogError(Problem(file, _json_key_line(text, key), exc.field, exc.message)) from exc
    note = f"null keys dropped (TOML has no null): {', '.join(dropped)}" if dropped else ""
    return ModelEntry(
        id=entry_id,
        name=display,
        hf_repo=hf_repo,
        source=f"config.json imported from {resolved} on {date.today().isoformat()}",
        note=note,
        config=config,
        origin="imported",
        path=file,
    )


# --------------------------------------------------------------------------------------------
# Writing the user models.toml, atomically
# --------------------------------------------------------------------------------------------

_BARE_KEY = re.compile(r"^[A-Za-z0-9_\-]+$")


def _key(k: str) -> str:
    return k if _BARE_KEY.match(k) else json.dumps(k)


def render_entry(table: str, data: dict[str, Any]) -> str:
    """One `[[table]]` entry as TOML: scalars and arrays first, then sub-tables as
    `[table.key]` sections (tomli_w alone would inline them)."""
    out = [f"[[{table}]]"]
    _render_body(table, data, out)
    return "\n".join(out).rstrip() + "\n"


def _render_body(prefix: str, data: dict[str, Any], out: list[str]) -> None:
    simple = {k: v for k, v in data.items() if not isinstance(v, dict)}
    tables = {k: v for k, v in data.items() if isinstance(v, dict)}
    if simple:
        out.append(tomli_w.dumps(simple).rstrip("\n"))
    for k, v in tables.items():
        out.append("")
        out.append(f"[{prefix}.{_key(k)}]")
        _render_body(f"{prefix}.{_key(k)}", v, out)


def entry_to_toml(entry: ModelEntry) -> str:
    data = entry.model_dump(exclude={"origin", "path"}, exclude_none=True)
    for k in ("note", "params_published_source", "name", "source"):
        if data.get(k) == "":
            data.pop(k)
    config = data.pop("config")
    data["config"] = config  # keep the config sub-table last
    return render_entry("model", data)


def _entry_blocks(text: str, table: str) -> list[tuple[int, int]]:
    """(start line index, end line index exclusive) of each `[[table]]` entry in `text`: from its
    header to the next header that does not open one of its own sub-tables."""
    lines = text.splitlines(keepends=True)
    header = re.compile(r"^\s*\[")
    own = re.compile(r"^\s*\[\s*" + re.escape(table) + r"\s*\.")
    aot = re.compile(r"^\s*\[\[\s*" + re.escape(table) + r"\s*\]\]")
    scan = TomlLines(text, table)
    starts = [n - 1 for n in scan.entry_lines]
    blocks = []
    for i, start in enumerate(starts):
        end = len(lines)
        for j in range(start + 1, len(lines)):
            if header.match(lines[j]) and not own.match(lines[j]):
                end = j
                break
            if aot.match(lines[j]):
                end = j
                break
        # leave trailing comments/blank lines that precede the next header with the next entry
        while end > start + 1 and end <= len(lines) and i + 1 < len(starts) and (
            not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")
        ):
            end -= 1
        blocks.append((start, end))
    return blocks




def save_user_model(entry: ModelEntry, user_dir: str | Path | None = None, replace: bool = False) -> Path:
    """Add `entry` to the user's models.toml (in `user_dir`, default `default_user_dir()`;
    created if needed), atomically. An entry with the
    same id already in that file is an error unless `replace` is true, in which case that entry
    alone is replaced; everything else in the file (entries, comments) is kept as written.
    Refuses to touch a user file that does not parse. Returns the file's path."""
    if user_dir is None:
        user_dir = default_user_dir()
    path = Path(user_dir).expanduser() / FILES["models"]
    table = TABLES["models"]
    file = str(path)
    if not ID_PATTERN.match(entry.id):
        raise CatalogError(Problem(file, None, "id", f"{entry.id!r}: use lowercase letters, digits and . - _ +"))
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if old:
        try:
            doc = tomllib.loads(old)
        except tomllib.TOMLDecodeError as exc:
            from .loader import _syntax_problem

            problem = _syntax_problem(file, exc)
            raise CatalogError(
                Problem(file, problem.line, "", problem.message + "; fix the file first, it was not changed", col=problem.col)
            ) from exc
        existing = doc.get(table, [])
        ids = [e.get("id") for e in existing if isinstance(e, dict)] if isinstance(existing, list) else []
    else:
        ids = []

    block = entry_to_toml(entry)
    # The new entry must itself be a valid catalog entry.
    new_doc = tomllib.loads(block)
    _, problems = validate_entry("models", new_doc[table][0], file=file, lines=TomlLines(block, table), index=0, origin="user")
    if problems:
        raise CatalogError(problems)

    if entry.id in ids:
        scan = TomlLines(old, table)
        index = ids.index(entry.id)
        line = scan.key_line(index, "id")
        if not replace:
            raise CatalogError(
                Problem(file, line, "id", f"{entry.id!r} is already in the user catalog; choose another --id or replace it")
            )
        lines = old.splitlines(keepends=True)
        start, end = _entry_blocks(old, table)[index]
        kept = "".join(lines[:start]) + "".join(lines[end:])
        new = _append(kept, block)
    else:
        new = _append(old, block)

    # Never write a file the loader would reject.
    parse_catalog_text("models", new, file=file, origin="user")
    atomic_write_text(path, new)
    return path


def _append(text: str, block: str) -> str:
    if not text.strip():
        header = (
            "# gpuplan user model catalog: entries here add to or replace the bundled ones.\n"
            "# Same format as the bundled models.toml; [model.config] is a Hugging Face config.json.\n\n"
        )
        return header + block
    return text.rstrip("\n") + "\n\n" + block


# The local Hugging Face cache: catalogs/hf_cache.py (HfScan, hf_hub_dir, scan_hf_cache).


__all__ = [
    "HfScan",
    "atomic_write_text",
    "entry_to_toml",
    "hf_hub_dir",
    "import_config_json",
    "normalize_id",
    "render_entry",
    "save_user_model",
    "scan_hf_cache",
]
