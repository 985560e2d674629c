"""JSON that means one thing: a key given twice in one object is an error, not "the last wins".

``json.loads`` keeps the last of two equal keys without a word, so a scenario that sets
``"end"`` twice silently loses one of them. :func:`loads_strict` refuses it and says where:
the path of the object (``phases.1``), the key, and the line and column of each repeat.
"""

from __future__ import annotations

import json
import json.decoder
import json.scanner
from typing import Any


class DuplicateKeyError(ValueError):
    """A JSON object holds the same key more than once.

    ``path`` is the object's location as a list of keys and indexes (empty: the top level),
    ``key`` the repeated key, ``places`` the ``(line, column)`` of every occurrence.
    """

    def __init__(self, path: list[str | int], key: str, places: list[tuple[int, int]]):
        self.path = path
        self.key = key
        self.places = places
        where = ", ".join(f"line {line} column {col}" for line, col in places)
        super().__init__(f"key {key!r} appears {len(places)} times in one object ({where})")

    @property
    def location(self) -> str:
        """The repeated key's dotted path, e.g. ``phases.1.end``."""
        return ".".join(str(p) for p in [*self.path, self.key])


def loads_strict(text: str, **kwargs: Any) -> Any:
    """``json.loads(text, **kwargs)`` that raises :class:`DuplicateKeyError` for a repeated key.

    The common case costs one extra check per object; only a document with a repeat is
    parsed again, slowly, to say where it is.
    """
    repeats: list[str] = []

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) != len(pairs) and not repeats:
            seen: set[str] = set()
            for k, _ in pairs:
                if k in seen:
                    repeats.append(k)
                seen.add(k)
        return obj

    obj = json.loads(text, object_pairs_hook=pairs_hook, **kwargs)
    if repeats:
        raise _locate(text, repeats[0], kwargs)
    return obj


def _locate(text: str, key: str, kwargs: dict[str, Any]) -> DuplicateKeyError:
    """Parse again, noting where each object starts, to give the repeat's path and lines."""
    starts: dict[int, int] = {}
    found: list[dict[str, Any]] = []

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if not found and len(obj) != len(pairs) and sum(k == key for k, _ in pairs) > 1:
            found.append(obj)
        return obj

    decoder = json.JSONDecoder(object_pairs_hook=pairs_hook, **kwargs)

    def parse_object(s_and_end, *args, **kw):
        obj, end = json.decoder.JSONObject(s_and_end, *args, **kw)
        starts[id(obj)] = s_and_end[1]
        return obj, end

    decoder.parse_object = parse_object
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # the C scanner ignores parse_object
    root = decoder.decode(text)
    target = found[0]
    path = _path_to(root, target) or []
    places = [_line_col(text, pos) for pos in _key_positions(text, starts[id(target)], key)]
    return DuplicateKeyError(path, key, places)


def _path_to(node: Any, target: dict, path: list | None = None) -> list | None:
    path = [] if path is None else path
    if node is target:
        return path
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for k, child in items:
        if isinstance(child, (dict, list)):
            hit = _path_to(child, target, [*path, k])
            if hit is not None:
                return hit
    return None


def _key_positions(text: str, start: int, key: str) -> list[int]:
    """Where ``key`` is a key of the object whose ``{`` is just before ``start``."""
    out: list[int] = []
    depth, i, n = 0, start, len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            end = json.decoder.scanstring(text, i + 1)[1]
            after = end
            while after < n and text[after] in " \t\r\n":
                after += 1
            if depth == 0 and after < n and text[after] == ":" and json.loads(text[i:end]) == key:
                out.append(i)
            i = end
            continue
        if ch in "{[":
            depth += 1
        elif ch in "}]":
            if depth == 0:
                break
            depth -= 1
        i += 1
    return out


def _line_col(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1
