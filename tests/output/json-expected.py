#!/usr/bin/env python3
"""test-json.expected is the strict checker's view of the lines test-json
renders, not a copy of what some version of output/json.c wrote.

    json-expected.py TEST_JSON EXPECTED          check (a meson test)
    json-expected.py TEST_JSON EXPECTED --write  regenerate EXPECTED

Each line of `TEST_JSON --print` is parsed by tests/tools/strictjson.py
(Python's json; duplicate keys, NaN/Infinity, bad UTF-8 and lone
surrogates refused) and written back compactly by Python; that must equal
the rendered bytes (but for the case of \\u escape digits: yajl writes
\\u001B, Python \\u001b), and EXPECTED must hold exactly those lines. Review a
regenerated file by its diff: it is what the lines mean to a strict reader.
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tools"))
import strictjson  # noqa: E402


def c_literal(line):
    """One line as C string literals of about 60 characters each."""
    out, chunk = [], ""
    for b in line:
        if b in (0x22, 0x5c):
            chunk += "\\" + chr(b)
        elif 0x20 <= b < 0x7f:
            chunk += chr(b)
        else:
            chunk += "\\%03o" % b
        if len(chunk) >= 60:
            out.append('\t"' + chunk + '"')
            chunk = ""
    if chunk:
        out.append('\t"' + chunk + '"')
    return "\n".join(out)


def main():
    test_json, expected = sys.argv[1:3]
    write = sys.argv[3:] == ["--write"]
    rendered = subprocess.run([test_json, "--print"], check=True,
                              capture_output=True).stdout
    failed = 0
    parts = []
    for i, line in enumerate(rendered.split(b"\n")[:-1]):
        try:
            view = strictjson.dumps(strictjson.loads(line)).encode("utf-8")
        except strictjson.StrictJSONError as e:
            print("case %d: not strict JSON: %s\n  %r" % (i, e, line))
            failed += 1
            continue
        same = re.sub(rb"\\u[0-9A-F]{4}", lambda m: m.group(0).lower(), line)
        if view != same:
            print("case %d: the checker reads it differently:\n  rendered %r\n"
                  "  checker  %r" % (i, line, view))
            failed += 1
        parts.append("/* %d */\n%s,\n" % (i, c_literal(line + b"\n")))
    text = "".join(parts)
    if failed:
        return 1
    if write:
        with open(expected, "w") as f:
            f.write(text)
        print("wrote %s (%d lines)" % (expected, len(parts)))
        return 0
    with open(expected) as f:
        if f.read() != text:
            print("%s is not the checker's view of the rendered lines; run\n"
                  "  %s %s %s --write\nand review the diff"
                  % (expected, sys.argv[0], test_json, expected))
            return 1
    print("json-expected: %d lines, each the strict checker's view" % len(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
