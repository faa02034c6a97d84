#!/usr/bin/env python3
"""Extract the hex packets of the shared python-netflow vectors document into
tests/parser/vectors/<NAME>.hex (one datagram per file), checking each
against the byte length and sha256 prefix the document gives."""
import hashlib
import re
import sys

src = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/vectors/python-netflow-test-packets.md"
out = sys.argv[2] if len(sys.argv) > 2 else "vectors"
text = open(src).read()
pat = re.compile(r"`([A-Z0-9_\[\]]+)` — (\d+) bytes, sha256 prefix `([0-9a-f]+)`\n```\n(.*?)```", re.S)
for name, length, sha, hexs in pat.findall(text):
    data = bytes.fromhex("".join(hexs.split()))
    assert len(data) == int(length), name
    assert hashlib.sha256(data).hexdigest().startswith(sha), name
    fn = name.replace("[", "_").replace("]", "").lower()
    with open(f"{out}/{fn}.hex", "w") as f:
        h = data.hex()
        f.write("\n".join(h[i:i + 96] for i in range(0, len(h), 96)) + "\n")
    print(fn, len(data))
