#!/usr/bin/env python3
"""The strict JSON oracle every test runs netflowd's lines through: Python's
own json module (not our code), made strict where it is lenient.

Rejected: duplicate keys in an object, NaN/Infinity/-Infinity, bytes that
are not UTF-8 (overlong forms and encoded surrogates included: Python's
codec refuses them), lone surrogates written as \\uD800 escapes, a line
that is not one JSON object, a final line without its newline.

As a module: loads(line) and lines(data) raise StrictJSONError.
As a command: strictjson.py FILE... checks every line of every file
(.gz too), exit 0 or 1 with FILE:LINE: why.
"""
import gzip
import json
import sys


class StrictJSONError(ValueError):
    pass


def _pairs(pairs):
    obj = {}
    for k, v in pairs:
        if k in obj:
            raise StrictJSONError("duplicate key %r" % k)
        obj[k] = v
    return obj


def _constant(name):
    raise StrictJSONError("%s is not JSON" % name)


def _no_lone_surrogates(v):
    if isinstance(v, str):
        try:
            v.encode("utf-8")
        except UnicodeEncodeError:
            raise StrictJSONError("lone surrogate in %r" % v) from None
    elif isinstance(v, dict):
        for k, x in v.items():
            _no_lone_surrogates(k)
            _no_lone_surrogates(x)
    elif isinstance(v, list):
        for x in v:
            _no_lone_surrogates(x)


def loads(line):
    """One line (bytes or str, without its newline) -> the object."""
    if isinstance(line, (bytes, bytearray)):
        try:
            line = bytes(line).decode("utf-8")
        except UnicodeDecodeError as e:
            raise StrictJSONError("not UTF-8: %s" % e) from None
    if "\n" in line:
        raise StrictJSONError("newline inside a line")
    try:
        obj = json.loads(line, object_pairs_hook=_pairs,
                         parse_constant=_constant)
    except json.JSONDecodeError as e:
        raise StrictJSONError(str(e)) from None
    if not isinstance(obj, dict):
        raise StrictJSONError("not a JSON object")
    _no_lone_surrogates(obj)
    return obj


def dumps(obj):
    """The checker's view of an object, as netflowd writes it (compact,
    UTF-8, nothing escaped that JSON does not require)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False)


def lines(data, what="output"):
    """Every newline-terminated line of data (bytes) -> list of objects."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    if not data:
        return []
    if not data.endswith(b"\n"):
        raise StrictJSONError("%s: last line has no newline" % what)
    out = []
    for n, line in enumerate(data[:-1].split(b"\n"), 1):
        try:
            out.append(loads(line))
        except StrictJSONError as e:
            raise StrictJSONError("%s:%d: %s: %r" % (what, n, e, line[:200])) from None
    return out


def check_file(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        return lines(f.read(), path)


def main(paths):
    bad = 0
    for p in paths:
        try:
            check_file(p)
        except (StrictJSONError, OSError) as e:
            print(e, file=sys.stderr)
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
