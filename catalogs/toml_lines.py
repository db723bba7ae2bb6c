"""Where things are in a TOML text: the line of the Nth `[[table]]` entry and of a key in it.

tomllib returns plain dicts with no positions, so the loader finds lines itself. This is a line
scanner, not a parser: it understands table headers (`[[gpu]]`, `[model.config]`,
`[model.config.quantization_config]`), `key = value` lines (dotted and quoted keys too) and skips
the inside of multi-line strings and arrays well enough for catalog files. When a key cannot be
found it falls back to the closest thing it knows (the enclosing table, then the entry header).
"""

from __future__ import annotations

import re

_AOT = re.compile(r"^\s*\[\[\s*(?P<name>[^\[\]]+?)\s*\]\]")
_TABLE = re.compile(r"^\s*\[\s*(?P<name>[^\[\]]+?)\s*\]")
_KEY = re.compile(r"""^\s*(?P<key>(?:[A-Za-z0-9_\-]+|"(?:[^"\\]|\\.)*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_\-]+|"(?:[^"\\]|\\.)*"|'[^']*'))*)\s*=""")
_PART = re.compile(r"""[A-Za-z0-9_\-]+|"(?:[^"\\]|\\.)*"|'[^']*'""")
_LINE_COL = re.compile(r"\(at line (\d+), column (\d+)\)")
_AT_END = re.compile(r"\(at end of document\)")


def split_key(dotted: str) -> tuple[str, ...]:
    """`config."a.b".c` -> ("config", "a.b", "c")."""
    parts = []
    for m in _PART.finditer(dotted):
        p = m.group(0)
        if p[0] in "\"'":
            p = p[1:-1]
        parts.append(p)
    return tuple(parts)


class TomlLines:
    """Line numbers (1-based) of the entries of one array of tables and of their keys."""

    def __init__(self, text: str, table: str):
        self.table = table
        self.entry_lines: list[int] = []
        self.top_keys: dict[str, int] = {}  # top-level keys and tables -> first line
        self._keys: dict[tuple[int, tuple[str, ...]], int] = {}
        entry = -1  # -1: outside any [[table]] entry
        path: tuple[str, ...] = ()
        in_multiline: str | None = None  # the closing quote of an open multi-line string
        depth = 0  # open brackets of a multi-line array / inline table
        for lineno, raw in enumerate(text.splitlines(), start=1):
            line = raw
            if in_multiline:
                if in_multiline in line:
                    in_multiline = None
                continue
            if depth > 0:
                depth += _bracket_balance(line)
                continue
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            m = _AOT.match(line)
            if m:
                name = split_key(m.group("name"))
                if name == (table,):
                    entry += 1
                    path = ()
                    self.entry_lines.append(lineno)
                else:
                    entry, path = -1, name
                    self.top_keys.setdefault(name[0], lineno)
                continue
            m = _TABLE.match(line)
            if m and not _KEY.match(line):
                name = split_key(m.group("name"))
                if name and name[0] == table and entry >= 0:
                    path = name[1:]
                    for i in range(1, len(path) + 1):
                        self._keys.setdefault((entry, path[:i]), lineno)
                else:
                    entry, path = -1, name
                    self.top_keys.setdefault(name[0], lineno)
                continue
            m = _KEY.match(line)
            if m:
                key = split_key(m.group("key"))
                full = path + key
                if entry >= 0:
                    for i in range(1, len(full) + 1):
                        self._keys.setdefault((entry, full[:i]), lineno)
                elif full:
                    self.top_keys.setdefault(full[0], lineno)
                rest = line[m.end():]
                for quote in ('"""', "'''"):
                    if rest.count(quote) % 2 == 1:
                        in_multiline = quote
                        break
                else:
                    depth = max(0, _bracket_balance(rest))

    def entry_line(self, index: int) -> int | None:
        if 0 <= index < len(self.entry_lines):
            return self.entry_lines[index]
        return None

    def key_line(self, index: int, key: str | tuple[str, ...]) -> int | None:
        """Line of `key` (dotted, e.g. `config.num_hidden_layers`) in entry `index`; the
        closest enclosing table or key when the key itself is not written, then the header."""
        parts = split_key(key) if isinstance(key, str) else tuple(key)
        for n in range(len(parts), 0, -1):
            line = self._keys.get((index, parts[:n]))
            if line is not None:
                return line
        return self.entry_line(index)


def _bracket_balance(text: str) -> int:
    """Open minus closed brackets/braces outside strings and comments."""
    balance = 0
    quote = None
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\" and quote == '"':
                i += 2
                continue
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            break
        elif ch in "[{":
            balance += 1
        elif ch in "]}":
            balance -= 1
        i += 1
    return balance


def decode_error_position(exc: Exception) -> tuple[int | None, int | None, str]:
    """(line, column, message without the position) of a tomllib.TOMLDecodeError."""
    text = str(exc)
    m = _LINE_COL.search(text)
    if m:
        return int(m.group(1)), int(m.group(2)), text[: m.start()].strip()
    line = getattr(exc, "lineno", None)
    col = getattr(exc, "colno", None)
    if _AT_END.search(text):
        return line, col, _AT_END.sub("", text).strip() + " (at end of file)"
    return line, col, text


__all__ = ["TomlLines", "decode_error_position", "split_key"]
