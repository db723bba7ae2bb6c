"""The key locator: dotted paths -> lines, through every TOML construct."""

from __future__ import annotations

import tomllib

from sessions.locate import Locator, format_path, key_offsets, locate, parse_path

DOC = '''# comment [not.a.table]
title = "x = [not a key]"   # trailing
ml = """
fake = 1
[fake.table]
"""
lit = \'\'\'
also = 2\'\'\'
[a]
b.c = 1
"quoted key".d = { e = 1, f = [1, {g = 2}] }
arr = [
  1,   # one
  [2, 3],
  "s,]",
]
[[items]]
name = "first"
[[items]]
name = "second"
[items.sub]
k = true
[[items.list]]
v = 1
['lit.key']
z = 0
'''


def test_the_document_is_valid_toml():
    tomllib.loads(DOC)


def test_paths_map_to_lines():
    loc = Locator(DOC)
    expect = {
        "title": 2,
        "ml": 3,
        "lit": 7,
        "a": 9,
        "a.b.c": 10,
        "a.quoted key.d.e": 11,
        "a.quoted key.d.f[1].g": 11,
        "a.arr": 12,
        "a.arr[0]": 13,
        "a.arr[1][1]": 14,
        "a.arr[2]": 15,
        "items[0].name": 18,
        "items[1]": 19,
        "items[1].name": 20,
        "items[1].sub.k": 22,
        "items[1].list[0].v": 24,
    }
    for dotted, line in expect.items():
        got = loc.find(parse_path(dotted))
        assert got[0] == line and got[2], (dotted, got)
    assert loc.find(("lit.key", "z"))[0] == 26


def test_strings_and_comments_hide_fake_keys():
    offsets = key_offsets(DOC)
    assert ("fake",) not in offsets and ("fake", "table") not in offsets and ("also",) not in offsets
    assert ("not", "a", "table") not in offsets


def test_fallback_to_the_enclosing_table_then_line_one():
    loc = Locator(DOC)
    assert loc.find(("a", "missing")) == (9, 2, False)
    assert loc.find(("nothing", "here")) == (1, 1, False)
    assert locate(DOC, "items[1].sub.nope") == (21, 2)


def test_columns_are_one_based():
    assert locate("x = 1\n  y = 2\n", "y") == (2, 3)


def test_path_helpers_round_trip():
    for dotted in ("a", "a.b", "model.config.layer_types[3]", "x[0][1].y"):
        assert format_path(parse_path(dotted)) == dotted


def test_locator_survives_nonsense():
    for text in ("[[[", '"""', "a = [1, 2", "= = =", "a = {b = ", "[a.\n", "\x00", "a.\"b"):
        Locator(text).find(("a", "b"))  # never raises
