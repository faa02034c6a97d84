#!/usr/bin/env python3
"""The strict checker itself: what it must refuse, what it must take."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import strictjson  # noqa: E402

BAD = [
    b'{"a":1,"a":2}',                 # duplicate key
    b'{"a":{"b":1,"b":1}}',           # ... in a nested object
    b'{"a":1,"\\u0061":2}',           # ... spelled two ways
    b'{"a":NaN}', b'{"a":Infinity}', b'{"a":-Infinity}',
    b'{"a":"\xff"}',                  # not UTF-8
    b'{"a":"\xc0\xaf"}',              # overlong
    b'{"a":"\xed\xa0\x80"}',          # an encoded surrogate
    b'{"a":"\\ud800"}',               # a lone surrogate escape
    b'{"a":"\\udc00x"}',
    b'{"\\ud800":1}',
    b'[1]', b'1', b'"x"', b'',        # not an object
    b'{"a":1} {"b":2}', b'{"a":1,}', b"{'a':1}", b'{"a":01}',
    b'{"a":"\x01"}',                  # raw control character
]
GOOD = [
    b'{}', b'{"a":[1,2,{"a":1}]}', b'{"a":"\\ud83d\\ude00"}',
    '{"a":"\ufffd\u20ac"}'.encode(), b'{"a":1.5e300,"b":-0,"c":null}',
]

failed = 0
for b in BAD:
    try:
        strictjson.loads(b)
        print("FAIL: took %r" % b)
        failed += 1
    except strictjson.StrictJSONError:
        pass
for g in GOOD:
    try:
        strictjson.loads(g)
    except strictjson.StrictJSONError as e:
        print("FAIL: refused %r: %s" % (g, e))
        failed += 1
for data in (b'{"a":1}', b'{"a":1}\n{"a":1,"a":1}\n'):
    try:
        strictjson.lines(data)
        print("FAIL: took %r" % data)
        failed += 1
    except strictjson.StrictJSONError:
        pass
print("strictjson: %d cases, %d failed" % (len(BAD) + len(GOOD) + 2, failed))
sys.exit(1 if failed else 0)
