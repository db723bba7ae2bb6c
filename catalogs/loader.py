"""Load the catalog: bundled data, then the user's catalog directory, then the local Hugging Face
cache.

Order and precedence: the bundled TOML files (`catalogs/data/*.toml`), then the same four files
in the user catalog directory (`$GPUPLAN_HOME/catalog/`, else the platform config dir's
`gpuplan/catalog/`) -- a user entry whose id already exists replaces it whole, a new id adds
one -- then models found in the local Hugging Face cache as `hf:org/name`.

Speed: this runs in every `gpuplan plan`. The bundled files are split into entries with a
regular expression and an entry is only parsed (tomllib) and validated (pydantic) when it is
first asked for; a ModelSpec is only built from a config when `.spec` is read. User files are
small and parsed eagerly, so their mistakes are reported at load time as `file:line: key:
problem`.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from engine.hardware import GpuSpec, PriceSpec, ServerSpec
from engine.model import ModelConfigError, ModelSpec

from .bounds import out_of_bounds
from .entries import ModelEntry, Origin
from .errors import CatalogError, Problem, UnknownEntry
from .files import TextFileError, app_dir, read_text_file

if TYPE_CHECKING:  # the key->line index is imported where a problem or a user file needs it
    from .toml_lines import TomlLines

Kind = Literal["models", "gpus", "servers", "prices"]

KINDS: tuple[str, ...] = ("models", "gpus", "servers", "prices")
FILES = {"models": "models.toml", "gpus": "gpus.toml", "servers": "servers.toml", "prices": "prices.toml"}
TABLES = {"models": "model", "gpus": "gpu", "servers": "server", "prices": "price"}

# Catalog ids as a user types them: lowercase, digits, and . - _ + (e.g. qwen2.5-7b).
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._+\-]*$")


# --------------------------------------------------------------------------------------------
# Entries
# --------------------------------------------------------------------------------------------


# Keys gpuplan sets itself: never written in a catalog file.
_INTERNAL_KEYS = {"models": {"origin", "path"}}
_MODELS_BY_KIND: dict[str, type[BaseModel]] = {
    "models": ModelEntry,
    "gpus": GpuSpec,
    "servers": ServerSpec,
    "prices": PriceSpec,
}


def allowed_keys(kind: str) -> list[str]:
    model = _MODELS_BY_KIND[kind]
    return [k for k in model.model_fields if k not in _INTERNAL_KEYS.get(kind, set())]


# --------------------------------------------------------------------------------------------
# Validation of one entry (a dict from TOML) into its spec, with file:line problems
# --------------------------------------------------------------------------------------------


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def validate_entry(
    kind: str,
    data: Any,
    *,
    file: str,
    lines: TomlLines | None,
    index: int,
    origin: Origin,
    line_offset: int = 0,
    check_config: bool = True,
) -> tuple[Any | None, list[Problem]]:
    """Validate one `[[table]]` entry. Returns (spec or None, problems)."""

    def at(key: str) -> int | None:
        if lines is None:
            return None
        line = lines.key_line(index, key) if key else lines.entry_line(index)
        return None if line is None else line + line_offset

    problems: list[Problem] = []
    table = TABLES[kind]
    if not isinstance(data, dict):
        return None, [Problem(file, at(""), f"[[{table}]]", f"expected a table, got {_describe(data)}")]
    allowed = allowed_keys(kind)
    for key in data:
        if key not in allowed:
            hint = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            why = "set by gpuplan, not allowed in a catalog file" if key in _INTERNAL_KEYS.get(kind, ()) else "unknown key"
            problems.append(
                Problem(file, at(key), key, why + (f" (did you mean {hint[0]!r}?)" if hint else f"; allowed: {', '.join(allowed)}"))
            )
    entry_id = data.get("id")
    if isinstance(entry_id, str) and origin == "user" and not ID_PATTERN.match(entry_id):
        problems.append(
            Problem(file, at("id"), "id", f"{entry_id!r}: use lowercase letters, digits and . - _ + (e.g. 'my-model-7b')")
        )
    for key, message in out_of_bounds(kind, data):
        problems.append(Problem(file, at(key), key, message))
    if problems:
        return None, problems
    payload = dict(data)
    if kind == "models":
        payload["origin"] = origin
        payload["path"] = file
    try:
        spec = _MODELS_BY_KIND[kind].model_validate(payload, strict=True)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            loc = ".".join(str(p) for p in err["loc"])
            msg = err["msg"]
            if err["type"] == "missing":
                msg = "missing (required)"
            elif "input" in err and err["type"] not in ("missing",):
                msg = f"{msg}, got {_describe(err['input'])}"
            problems.append(Problem(file, at(loc), loc or f"[[{table}]]", msg))
        return None, problems
    if kind == "models" and check_config:
        try:
            spec.spec  # noqa: B018 - build the ModelSpec now so a bad config is reported here
        except ModelConfigError as exc:
            field_name = re.sub(r"\[\d+\]$", "", exc.field)
            key = f"config.{exc.field}"
            problems.append(Problem(file, at(f"config.{field_name}"), key, exc.message))
            return None, problems
        except ValidationError as exc:  # ModelSpec rejected a derived value
            first = exc.errors(include_url=False)[0]
            problems.append(Problem(file, at("config"), "config", f"{'.'.join(map(str, first['loc']))}: {first['msg']}"))
            return None, problems
    return spec, problems


# --------------------------------------------------------------------------------------------
# Parsed catalog files
# --------------------------------------------------------------------------------------------


def _syntax_problem(file: str, exc: tomllib.TOMLDecodeError) -> Problem:
    from .toml_lines import decode_error_position

    line, col, message = decode_error_position(exc)
    return Problem(file, line, "", f"TOML syntax error: {message}", col=col)


def parse_user_file(kind: str, path: Path, *, display: str | None = None) -> dict[str, Any]:
    """Read and validate one user catalog file; returns {id: spec} in file order. Raises
    CatalogError listing every problem in the file."""
    file = display or str(path)
    try:
        text = read_text_file(path)
    except TextFileError as exc:
        line, col = (exc.line, exc.col) if exc.line > 0 else (None, None)
        raise CatalogError(Problem(file, line, "", exc.message, col=col)) from None
    return parse_catalog_text(kind, text, file=file, origin="user")


def parse_catalog_text(kind: str, text: str, *, file: str, origin: Origin = "user") -> dict[str, Any]:
    """Parse and validate a whole catalog file's text (eagerly). Raises CatalogError."""
    table = TABLES[kind]
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(_syntax_problem(file, exc)) from exc
    from .toml_lines import TomlLines

    lines = TomlLines(text, table)
    problems: list[Problem] = []
    for key in doc:
        if key != table:
            problems.append(
                Problem(file, lines.top_keys.get(key), key, f"unknown key; a {FILES[kind]} holds only [[{table}]] entries")
            )
    entries = doc.get(table, [])
    if not isinstance(entries, list):
        problems.append(Problem(file, lines.top_keys.get(table), table, f"write entries as [[{table}]] (an array of tables)"))
        entries = []
    out: dict[str, Any] = {}
    first_line: dict[str, int | None] = {}
    for index, data in enumerate(entries):
        spec, found = validate_entry(kind, data, file=file, lines=lines, index=index, origin=origin)
        problems.extend(found)
        entry_id = data.get("id") if isinstance(data, dict) else None
        if isinstance(entry_id, str):
            if entry_id in first_line:
                problems.append(
                    Problem(
                        file,
                        lines.key_line(index, "id"),
                        "id",
                        f"duplicate id {entry_id!r} (first defined at line {first_line[entry_id]})",
                    )
                )
                continue
            first_line[entry_id] = lines.key_line(index, "id")
        if spec is not None:
            out[spec.id] = spec
    if problems:
        raise CatalogError(problems)
    return out


_HEADER = {t: re.compile(rf"^\[\[{t}\]\][ \t]*(?:#.*)?$", re.M) for t in TABLES.values()}
_ID_LINE = re.compile(r'^id[ \t]*=[ \t]*"([^"\\]*)"', re.M)
# A whole `gpu = "id"` line: in an entry with no other table header and no multi-line string
# (split_entries refuses those), this is exactly the value TOML reads.
_GPU_LINE = re.compile(r'^gpu[ \t]*=[ \t]*"([^"\\]*)"[ \t]*(?:#.*)?$', re.M)
_TABLE_LINE = re.compile(r"^[ \t]*\[", re.M)


def gpu_hint(block: str) -> str | None:
    """The `gpu` one bundled entry's text names, when the text leaves no doubt; else None."""
    found = _GPU_LINE.findall(block)
    if len(found) != 1 or len(_TABLE_LINE.findall(block)) != 1:
        return None
    return found[0]


def split_entries(text: str, table: str) -> tuple[list[tuple[str, str, int]], bool]:
    """Split a catalog file into (id, entry text, first line) without parsing it. Returns
    (entries, ok); ok is False when the text does not have the simple layout (then parse it
    whole)."""
    starts = [m.start() for m in _HEADER[table].finditer(text)]
    if not starts:
        return [], not text.strip() or all(
            not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()
        )
    preamble = text[: starts[0]]
    if any(ln.strip() and not ln.lstrip().startswith("#") for ln in preamble.splitlines()):
        return [], False
    out = []
    line = preamble.count("\n") + 1
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(text)
        block = text[start:end]
        m = _ID_LINE.search(block)
        if not m or ('"""' in block or "'''" in block):
            return [], False
        out.append((m.group(1), block, line))
        line += block.count("\n")
    return out, True


# --------------------------------------------------------------------------------------------
# Lazy mapping of entries
# --------------------------------------------------------------------------------------------

T = TypeVar("T")


class Entries(Mapping[str, T], Generic[T]):
    """Catalog entries by id, in catalog order. An entry may be stored as a loader that parses it
    on first access (the bundled files): iterating values parses them all."""

    def __init__(self, kind: str):
        self.kind = kind
        self._values: dict[str, T | None] = {}
        self._loaders: dict[str, Callable[[], T]] = {}
        self._gpu_hints: dict[str, str] = {}  # unparsed entry -> the `gpu` its text names

    def _put(
        self, key: str, value: T | None = None, loader: Callable[[], T] | None = None, gpu_hint: str | None = None
    ) -> None:
        self._values[key] = value
        self._gpu_hints.pop(key, None)
        if loader is not None:
            self._loaders[key] = loader
            if gpu_hint is not None:
                self._gpu_hints[key] = gpu_hint
        else:
            self._loaders.pop(key, None)

    def may_name_gpu(self, key: str, gpu_id: str) -> bool:
        """False only for an entry not parsed yet whose text plainly names another `gpu`
        (`prices_for` then leaves it unparsed); True for anything it cannot rule out."""
        hint = self._gpu_hints.get(key) if key in self._loaders else None
        return hint is None or hint.casefold() == gpu_id.casefold()

    def __getitem__(self, key: str) -> T:
        if key not in self._values:
            raise KeyError(key)
        loader = self._loaders.pop(key, None)
        if loader is not None:
            self._values[key] = loader()
        value = self._values[key]
        assert value is not None
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._values))

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def __repr__(self) -> str:
        return f"<Entries {self.kind}: {len(self)}>"

    def resolve(self, key: str) -> str:
        """The stored id for `key`: exact, else case-insensitive; UnknownEntry with suggestions."""
        if key in self._values:
            return key
        folded = key.casefold()
        for k in self._values:
            if k.casefold() == folded:
                return k
        raise UnknownEntry(self.kind, key, suggest(key, list(self._values)))


def suggest(key: str, ids: list[str], n: int = 3) -> list[str]:
    """Close matches for a mistyped id (difflib), substring matches first."""
    folded = key.casefold()
    by_fold = {i.casefold(): i for i in ids}
    hits = [by_fold[f] for f in difflib.get_close_matches(folded, list(by_fold), n=n, cutoff=0.6)]
    subs = [i for i in ids if folded and (folded in i.casefold() or i.casefold() in folded)]
    out: list[str] = []
    for i in subs[:n] + hits:
        if i not in out:
            out.append(i)
    return out[:n]


# --------------------------------------------------------------------------------------------
# The catalog
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Catalog:
    """Models, GPUs, servers and prices by id. Lookups raise UnknownEntry with suggestions."""

    models: Entries[ModelEntry]
    gpus: Entries[GpuSpec]
    servers: Entries[ServerSpec]
    prices: Entries[PriceSpec]
    files: tuple[str, ...] = ()  # catalog files read, bundled first
    user_dir: Path | None = None
    hf_cache_skipped: int = 0  # snapshots in the HF cache that could not be read or sized
    overrides: dict[str, frozenset[str]] = field(default_factory=dict)  # kind -> user ids replacing bundled ones
    user_ids: dict[str, frozenset[str]] = field(default_factory=dict)  # kind -> ids from the user's files
    _by_kind: dict[str, Entries[Any]] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_kind.update(models=self.models, gpus=self.gpus, servers=self.servers, prices=self.prices)

    def entries(self, kind: str) -> Entries[Any]:
        if kind not in self._by_kind:
            raise ValueError(f"unknown catalog kind {kind!r}; one of {', '.join(KINDS)}")
        return self._by_kind[kind]

    def get(self, kind: str, id: str) -> Any:
        entries = self.entries(kind)
        return entries[entries.resolve(id)]

    def model_entry(self, id: str) -> ModelEntry:
        return self.get("models", id)

    def model(self, id: str) -> ModelSpec:
        """The sized architecture of a catalog model (ModelConfigError if its config is bad)."""
        return self.model_entry(id).spec

    def gpu(self, id: str) -> GpuSpec:
        return self.get("gpus", id)

    def server(self, id: str) -> ServerSpec:
        return self.get("servers", id)

    def price(self, id: str) -> PriceSpec:
        return self.get("prices", id)

    def prices_for(self, gpu_id: str) -> tuple[PriceSpec, ...]:
        """Dated example prices for one GPU, newest first (undated last)."""
        prices = self.prices
        candidates = [prices[k] for k in prices if prices.may_name_gpu(k, gpu_id)]  # parse only these
        found = [p for p in candidates if p.gpu is not None and p.gpu.casefold() == gpu_id.casefold()]
        found.sort(key=lambda p: p.source_date or "", reverse=True)
        return tuple(found)

    def ids(self, kind: str) -> list[str]:
        return list(self.entries(kind))

    def overrides_bundled(self, kind: str, id: str) -> bool:
        """True when the user's catalog replaced the bundled entry with this id."""
        return id in self.overrides.get(kind, ())

    def origin_label(self, kind: str, id: str) -> str:
        """Where an entry comes from, as the CLI and the picker show it: "bundled", "user",
        "user, overrides bundled", "hf-cache" or "imported"."""
        if self.overrides_bundled(kind, id):
            return "user, overrides bundled"
        if kind == "models":
            return self.models[id].origin
        user = self.user_dir is not None and id in self.user_ids.get(kind, ())
        return "user" if user else "bundled"

    def check_references(self) -> list[str]:
        """Servers and prices whose `gpu` is not a catalog GPU (parses every entry)."""
        bad = []
        for kind in ("servers", "prices"):
            for spec in self.entries(kind).values():
                if spec.gpu is not None and spec.gpu not in self.gpus:
                    bad.append(f"{kind} {spec.id}: gpu {spec.gpu!r} is not in the GPU catalog")
        return bad


def _bundled_text(kind: str) -> tuple[str, str]:
    ref = resources.files("catalogs").joinpath("data", FILES[kind])
    return ref.read_text(encoding="utf-8"), f"catalogs/data/{FILES[kind]}"


def _bundled_loader(kind: str, block: str, file: str, line: int) -> Callable[[], Any]:
    def load() -> Any:
        table = TABLES[kind]
        try:
            doc = tomllib.loads(block)
        except tomllib.TOMLDecodeError as exc:
            problem = _syntax_problem(file, exc)
            raise CatalogError(
                Problem(file, (problem.line or 1) + line - 1, "", problem.message, col=problem.col)
            ) from exc
        def check(lines: TomlLines | None) -> tuple[Any | None, list[Problem]]:
            return validate_entry(
                kind, doc[table][0], file=file, lines=lines, index=0, origin="bundled", line_offset=line - 1,
                check_config=False,
            )

        spec, problems = check(None)  # the line index is only worth building to report a problem
        if problems:
            from .toml_lines import TomlLines

            spec, problems = check(TomlLines(block, table))
        if problems or spec is None:
            raise CatalogError(problems)
        return spec

    return load


def load_bundled(kind: str, into: Entries[Any]) -> str:
    """Register the bundled entries of one kind (lazily). Returns the file name."""
    text, file = _bundled_text(kind)
    entries, ok = split_entries(text, TABLES[kind])
    if ok:
        seen: dict[str, int] = {}
        problems = []
        for entry_id, block, line in entries:
            if entry_id in seen:
                problems.append(Problem(file, line, "id", f"duplicate id {entry_id!r} (first at line {seen[entry_id]})"))
            seen[entry_id] = line
            hint = gpu_hint(block) if kind == "prices" else None
            into._put(entry_id, loader=_bundled_loader(kind, block, file, line), gpu_hint=hint)
        if problems:
            raise CatalogError(problems)
    else:
        for entry_id, spec in parse_catalog_text(kind, text, file=file, origin="bundled").items():
            into._put(entry_id, spec)
    return file


_DEFAULT = object()


def default_user_dir() -> Path:
    """`$GPUPLAN_HOME/catalog`, else the platform config dir's `gpuplan/catalog`."""
    return app_dir("catalog")


def load_catalog(user_dir: Path | str | None | object = _DEFAULT, hf_cache: bool = True) -> Catalog:
    """The bundled catalog, plus the user catalog directory (default: `default_user_dir()`;
    None for none), plus models in the local Hugging Face cache when `hf_cache` is true.
    Raises CatalogError for a bad user file."""
    by_kind: dict[str, Entries[Any]] = {kind: Entries(kind) for kind in KINDS}
    files = [load_bundled(kind, by_kind[kind]) for kind in KINDS]

    udir: Path | None
    if user_dir is _DEFAULT:
        udir = default_user_dir()
    elif user_dir is None:
        udir = None
    else:
        udir = Path(user_dir)  # type: ignore[arg-type]
    overrides: dict[str, frozenset[str]] = {}
    user_ids: dict[str, frozenset[str]] = {}
    if udir is not None:
        user_specs: dict[str, tuple[str, dict[str, Any]]] = {}
        for kind in KINDS:
            path = udir / FILES[kind]
            if not path.is_file():
                continue
            specs = parse_user_file(kind, path)
            user_specs[kind] = (str(path), specs)
            overrides[kind] = frozenset(i for i in specs if i in by_kind[kind])
            user_ids[kind] = frozenset(specs)
            for entry_id, spec in specs.items():
                by_kind[kind]._put(entry_id, spec)
            files.append(str(path))
        _check_user_references(user_specs, by_kind)

    skipped = 0
    if hf_cache:
        from .hf_cache import scan_hf_cache

        scan = scan_hf_cache()
        skipped = scan.skipped
        for entry in scan:
            if entry.id not in by_kind["models"]:
                by_kind["models"]._put(entry.id, entry)

    return Catalog(
        models=by_kind["models"],
        gpus=by_kind["gpus"],
        servers=by_kind["servers"],
        prices=by_kind["prices"],
        files=tuple(files),
        user_dir=udir,
        hf_cache_skipped=skipped,
        overrides=overrides,
        user_ids=user_ids,
    )


def _check_user_references(user_specs: dict[str, tuple[str, dict[str, Any]]], by_kind: dict[str, Entries[Any]]) -> None:
    """A user server or price must name a GPU the merged catalog has."""
    gpus = by_kind["gpus"]
    for kind in ("servers", "prices"):
        if kind not in user_specs:
            continue
        file, specs = user_specs[kind]
        text = Path(file).read_text(encoding="utf-8")
        from .toml_lines import TomlLines

        lines = TomlLines(text, TABLES[kind])
        problems = []
        for index, spec in enumerate(specs.values()):
            if spec.gpu is not None and spec.gpu not in gpus:
                hint = suggest(spec.gpu, list(gpus))
                problems.append(
                    Problem(
                        file,
                        lines.key_line(index, "gpu"),
                        "gpu",
                        f"{spec.gpu!r} is not a catalog GPU" + (f" (did you mean {', '.join(map(repr, hint))}?)" if hint else ""),
                    )
                )
        if problems:
            raise CatalogError(problems)


__all__ = [
    "Catalog",
    "CatalogError",
    "Entries",
    "FILES",
    "ID_PATTERN",
    "KINDS",
    "ModelEntry",
    "Problem",
    "TABLES",
    "UnknownEntry",
    "allowed_keys",
    "default_user_dir",
    "load_catalog",
    "parse_catalog_text",
    "parse_user_file",
    "suggest",
    "validate_entry",
]
