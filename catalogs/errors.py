"""Errors the catalogs report: every problem names its file, line and key."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem in a catalog file: `file:line: key: message` (or `file:line:col: message`
    for a TOML syntax error, which has no key)."""

    file: str
    line: int | None
    key: str
    message: str
    col: int | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.col is not None:
                where += f":{self.col}"
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class CatalogError(ValueError):
    """A catalog file that cannot be used. `problems` lists every problem found in it (one per
    line of the message); `file`, `line`, `col` and `key` describe the first."""

    def __init__(self, problems: Problem | list[Problem]):
        self.problems: list[Problem] = [problems] if isinstance(problems, Problem) else list(problems)
        if not self.problems:
            raise ValueError("CatalogError needs at least one problem")
        super().__init__("\n".join(str(p) for p in self.problems))

    @property
    def file(self) -> str:
        return self.problems[0].file

    @property
    def line(self) -> int | None:
        return self.problems[0].line

    @property
    def col(self) -> int | None:
        return self.problems[0].col

    @property
    def key(self) -> str:
        return self.problems[0].key


class UnknownEntry(KeyError):
    """A catalog id that is not in the catalog, with the closest ids as suggestions."""

    def __init__(self, kind: str, id: str, suggestions: list[str] | tuple[str, ...] = ()):
        self.kind = kind
        self.id = id
        self.suggestions = list(suggestions)
        super().__init__(id)

    def __str__(self) -> str:
        noun = {"models": "model", "gpus": "GPU", "servers": "server", "prices": "price"}.get(self.kind, self.kind)
        msg = f"unknown {noun} {self.id!r}"
        if self.suggestions:
            msg += "; did you mean " + ", ".join(repr(s) for s in self.suggestions) + "?"
        else:
            msg += f"; see `gpuplan catalog {self.kind}`"
        return msg


__all__ = ["CatalogError", "Problem", "UnknownEntry"]
