"""Map a dotted key path of a TOML document to the line and column where it is written.

tomllib gives values, not positions, so this is a small scanner over the (already valid) text. It
knows tables `[a.b]`, arrays of tables `[[a]]` (indexed `a[0]`, `a[1]`), dotted and quoted keys,
inline tables, arrays (elements indexed), and skips strings of every kind and comments. It never
raises: on text it cannot follow it returns what it found so far.
"""

from __future__ import annotations

import bisect
import re
import tomllib

Path = tuple[str | int, ...]

_BARE = re.compile(r"[A-Za-z0-9_-]+")
_WS = " \t"
_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse_path(dotted: str) -> Path:
    """`"model.config.layer_types[3]"` -> `("model", "config", "layer_types", 3)`."""
    out: list[str | int] = []
    for name, index in _PATH_PART.findall(dotted):
        out.append(int(index) if index else name)
    return tuple(out)


def format_path(path: Path) -> str:
    """The inverse of `parse_path`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


class _Scanner:
    def __init__(self, text: str):
        self.text = text
        self.n = len(text)
        self.found: dict[Path, int] = {}  # path -> offset of its first appearance
        self.aot: dict[Path, int] = {}  # array-of-tables path -> tables seen so far

    # -- helpers --------------------------------------------------------------------------
    def record(self, path: Path, offset: int) -> None:
        for k in range(1, len(path) + 1):
            self.found.setdefault(path[:k], offset)

    def skip_ws(self, i: int, newlines: bool = False) -> int:
        t = self.text
        while i < self.n:
            c = t[i]
            if c in _WS or (newlines and c in "\r\n"):
                i += 1
            elif newlines and c == "#":
                while i < self.n and t[i] != "\n":
                    i += 1
            else:
                break
        return i

    def skip_line(self, i: int) -> int:
        j = self.text.find("\n", i)
        return self.n if j < 0 else j + 1

    def resolve(self, keys: list[str]) -> Path:
        """Table path with the current index of every array of tables it passes through."""
        out: list[str | int] = []
        for key in keys:
            out.append(key)
            count = self.aot.get(tuple(out))
            if count:
                out.append(count - 1)
        return tuple(out)

    # -- keys and values ------------------------------------------------------------------
    def key(self, i: int) -> tuple[list[str], int, int]:
        """A (dotted) key at i: its parts, the offset of its first part, the offset after it."""
        keys: list[str] = []
        start = i = self.skip_ws(i)
        while i < self.n:
            i = self.skip_ws(i)
            c = self.text[i] if i < self.n else ""
            if c in "\"'":
                end = self.string_end(i)
                raw = self.text[i:end]
                try:
                    keys.append(tomllib.loads(f"k = {raw}")["k"])
                except (tomllib.TOMLDecodeError, KeyError):
                    keys.append(raw.strip("\"'"))
                i = end
            else:
                m = _BARE.match(self.text, i)
                if not m:
                    break
                keys.append(m.group())
                i = m.end()
            i = self.skip_ws(i)
            if i < self.n and self.text[i] == ".":
                i += 1
                continue
            break
        return keys, start, i

    def string_end(self, i: int) -> int:
        t = self.text
        for quote in ('"""', "'''"):
            if t.startswith(quote, i):
                j = i + 3
                while j < self.n:
                    if quote[0] == '"' and t[j] == "\\":
                        j += 2
                    elif t.startswith(quote, j):
                        k = j  # up to two quote characters may precede the closing triple
                        while k < self.n and t[k] == quote[0] and k - j < 5:
                            k += 1
                        return k
                    else:
                        j += 1
                return self.n
        quote = t[i]
        j = i + 1
        while j < self.n and t[j] not in "\n" + quote:
            j += 2 if quote == '"' and t[j] == "\\" else 1
        return min(j + 1, self.n)

    def value(self, i: int, path: Path) -> int:
        i = self.skip_ws(i)
        if i >= self.n:
            return i
        c = self.text[i]
        if c in "\"'":
            return self.string_end(i)
        if c == "[":
            i += 1
            index = 0
            while i < self.n:
                i = self.skip_ws(i, newlines=True)
                if i >= self.n or self.text[i] == "]":
                    return i + 1
                self.record(path + (index,), i)
                before = i
                i = self.skip_ws(self.value(i, path + (index,)), newlines=True)
                if i < self.n and self.text[i] == ",":
                    i += 1
                    index += 1
                elif i == before:
                    return i + 1  # cannot follow: give up on this array
            return i
        if c == "{":
            i += 1
            while i < self.n:
                i = self.skip_ws(i, newlines=True)
                if i >= self.n or self.text[i] == "}":
                    return i + 1
                keys, start, i = self.key(i)
                if not keys:
                    return self.skip_line(i)
                self.record(path + tuple(keys), start)
                i = self.skip_ws(i)
                if i < self.n and self.text[i] == "=":
                    i += 1
                i = self.skip_ws(self.value(i, path + tuple(keys)), newlines=True)
                if i < self.n and self.text[i] == ",":
                    i += 1
            return i
        while i < self.n and self.text[i] not in ",]}\n#":
            i += 1
        return i

    # -- the document ---------------------------------------------------------------------
    def scan(self) -> dict[Path, int]:
        table: Path = ()
        i = 0
        while i < self.n:
            i = self.skip_ws(i, newlines=True)
            if i >= self.n:
                break
            if self.text[i] == "[":
                is_aot = self.text.startswith("[[", i)
                keys, start, i = self.key(i + (2 if is_aot else 1))
                if keys and is_aot:
                    parent = self.resolve(keys[:-1])
                    array = parent + (keys[-1],)
                    count = self.aot.get(array, 0)
                    self.aot[array] = count + 1
                    table = array + (count,)
                elif keys:
                    table = self.resolve(keys)
                self.record(table, start)
                i = self.skip_line(i)
                continue
            keys, start, i = self.key(i)
            if not keys:
                i = self.skip_line(i)
                continue
            path = table + tuple(keys)
            self.record(path, start)
            i = self.skip_ws(i)
            if i < self.n and self.text[i] == "=":
                i = self.value(i + 1, path)
            i = self.skip_line(i)
        return self.found


def key_offsets(text: str) -> dict[Path, int]:
    """Every key path of the document -> character offset of its first appearance (a table's
    header, or the first key under it)."""
    try:
        return _Scanner(text).scan()
    except (IndexError, ValueError, RecursionError):  # pragma: no cover - defensive
        return {}


class Locator:
    """Line/column lookups for one document (1-based), computed once."""

    def __init__(self, text: str):
        self.text = text
        self.offsets = key_offsets(text)
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self._line_starts, offset)
        return line, offset - self._line_starts[line - 1] + 1

    def find(self, path: Path) -> tuple[int, int, bool]:
        """(line, col, exact) of `path`; falls back to the nearest enclosing table or key that is
        written in the file, then to line 1."""
        for k in range(len(path), 0, -1):
            offset = self.offsets.get(tuple(path[:k]))
            if offset is not None:
                line, col = self.position(offset)
                return line, col, k == len(path)
        return 1, 1, not path


def locate(text: str, path: Path | str) -> tuple[int, int]:
    """(line, col) where `path` (tuple or dotted string) is written in `text`."""
    if isinstance(path, str):
        path = parse_path(path)
    line, col, _ = Locator(text).find(path)
    return line, col
