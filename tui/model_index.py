"""What the model picker offers: catalog models, the user's catalog entries and the models found
in the local Hugging Face cache (catalogs.loader merges all three, each with its `origin`), with a
filter-as-you-type ranking. Plain Python (no Textual)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

ORIGIN_RANK = {"bundled": 0, "user": 1, "user, overrides bundled": 1, "imported": 1, "hf-cache": 2}


@dataclass(frozen=True, slots=True)
class ModelEntry:
    id: str  # what the session's model.catalog holds ("llama-3.1-8b", "hf:org/name")
    label: str
    origin: str  # bundled, user, imported, hf-cache

    @property
    def haystack(self) -> str:
        return f"{self.id} {self.label} {self.origin}".lower()


def catalog_entries(catalog: Any) -> list[ModelEntry]:
    """Every model of the merged catalog (parses the lazily loaded bundled entries: call it off
    the UI thread)."""
    out = []
    for model_id in catalog.models:
        try:
            entry = catalog.models[model_id]
        except Exception:  # noqa: BLE001 - a broken entry is reported when it is picked
            out.append(ModelEntry(model_id, model_id, "bundled"))
            continue
        origin = str(getattr(entry, "origin", "bundled"))
        if callable(getattr(catalog, "overrides_bundled", None)) and catalog.overrides_bundled("models", model_id):
            origin = "user, overrides bundled"  # a user entry replaced the bundled one: say so
        out.append(ModelEntry(model_id, getattr(entry, "label", "") or model_id, origin))
    return out


def filter_entries(entries: Iterable[ModelEntry], query: str, limit: int = 50) -> list[ModelEntry]:
    """Entries whose id/name/origin contain every word of `query`, best first: an id that starts
    with the query, then an earlier match, then bundled before user before the HF cache, then the
    catalog's order."""
    words = query.lower().split()
    q = query.lower().strip()
    scored = []
    for n, e in enumerate(entries):
        hay = e.haystack
        if not all(w in hay for w in words):
            continue
        starts = 0 if q and e.id.lower().startswith(q) else 1
        pos = hay.find(words[0]) if words else 0
        scored.append(((starts, pos, ORIGIN_RANK.get(e.origin, 3), n), e))
    scored.sort(key=lambda t: t[0])
    return [e for _, e in scored[:limit]]
