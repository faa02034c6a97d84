#!/usr/bin/env python3
"""Compare netflowd's JSON-lines output with a golden expected file.

Usage: compare.py [--ignore KEY[,KEY...]] [--name NAME] ACTUAL.jsonl EXPECTED.jsonl

ACTUAL is netflowd output (one JSON object per line, DESIGN.md keys; extra
keys are fine; lines whose "type" is anything other than "flow" -- e.g.
"options" -- are ignored; "-" reads stdin).  EXPECTED is a
<fixture>.expected.jsonl from this directory.

Flows are matched as a multiset: every expected flow must match exactly one
actual flow on every key present in the expected object (numbers as numbers,
IP addresses after ipaddress normalisation, everything else -- e.g. times --
as exact strings), and no actual flow may be left over.  Keys given with
--ignore are not compared.  Exit 0 and print "NAME: N flows match" when all
match; otherwise print what is missing / extra / mismatched and exit 1.
Python 3 standard library only.
"""
import ipaddress
import json
import sys

ADDR_KEYS = {"exporter", "src_addr", "dst_addr", "next_hop"}


def load(path, actual):
    fh = sys.stdin if path == "-" else open(path, encoding="utf-8")
    flows = []
    with fh:
        for lineno, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise SystemExit(f"{path}:{lineno}: not JSON: {e}")
            if not isinstance(obj, dict):
                raise SystemExit(f"{path}:{lineno}: not a JSON object")
            if actual and obj.get("type", "flow") != "flow":
                continue
            flows.append((lineno, obj))
    return flows


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def same(key, exp, act):
    if key in ADDR_KEYS and isinstance(exp, str):
        if not isinstance(act, str):
            return False
        try:
            return ipaddress.ip_address(exp) == ipaddress.ip_address(act)
        except ValueError:
            return False
    if is_num(exp):
        return is_num(act) and exp == act
    return type(exp) is type(act) and exp == act


def diffs(exp, act, ignore):
    return [k for k in exp if k not in ignore and (k not in act or not same(k, exp[k], act[k]))]


def match(expected, actual, ignore):
    """Maximum bipartite matching (Kuhn); returns dict exp_index -> act_index."""
    ok = [[j for j, (_, a) in enumerate(actual) if not diffs(e, a, ignore)] for _, e in expected]
    owner = {}  # act index -> exp index

    def augment(i, seen):
        for j in ok[i]:
            if j in seen:
                continue
            seen.add(j)
            if j not in owner or augment(owner[j], seen):
                owner[j] = i
                return True
        return False

    sys.setrecursionlimit(max(1000, 4 * len(expected) + 100))
    for i in range(len(expected)):
        augment(i, set())
    return {i: j for j, i in owner.items()}


def short(obj, keys=None):
    if keys is not None:
        obj = {k: obj[k] for k in keys if k in obj}
    return json.dumps(obj, separators=(",", ":"))


def main():
    args = sys.argv[1:]
    ignore, name = set(), None
    while args and args[0].startswith("--"):
        opt = args.pop(0)
        if opt == "--ignore" and args:
            ignore |= {k for k in args.pop(0).split(",") if k}
        elif opt == "--name" and args:
            name = args.pop(0)
        elif opt in ("-h", "--help"):
            print(__doc__)
            return 0
        else:
            raise SystemExit(__doc__)
    if len(args) != 2:
        raise SystemExit(__doc__)
    actual_path, expected_path = args
    if name is None:
        base = expected_path.rsplit("/", 1)[-1]
        name = base[:-len(".expected.jsonl")] if base.endswith(".expected.jsonl") else base
    expected = load(expected_path, False)
    actual = load(actual_path, True)
    m = match(expected, actual, ignore)
    used = set(m.values())
    missing = [i for i in range(len(expected)) if i not in m]
    extra = [j for j in range(len(actual)) if j not in used]
    if not missing and not extra:
        print(f"{name}: {len(expected)} flows match")
        return 0
    print(f"{name}: MISMATCH: {len(expected)} expected, {len(actual)} actual flow lines, "
          f"{len(m)} matched, {len(missing)} expected flows missing, {len(extra)} extra actual flows")
    ident = ["src_addr", "src_port", "dst_addr", "dst_port", "proto", "start"]
    for i in missing:
        lineno, e = expected[i]
        print(f"  MISSING expected line {lineno}: {short(e)}")
        # closest unmatched actual flow (fewest differing keys), to show what is wrong
        cands = extra or list(range(len(actual)))
        best = min(cands, key=lambda j: len(diffs(e, actual[j][1], ignore)), default=None)
        if best is not None:
            al, a = actual[best]
            d = diffs(e, a, ignore)
            if len(d) < len([k for k in e if k not in ignore]):
                print(f"    closest actual line {al} differs on {len(d)} key(s):")
                for k in d:
                    print(f"      {k}: expected {json.dumps(e[k])}, actual {json.dumps(a[k]) if k in a else '(absent)'}")
    for j in extra:
        al, a = actual[j]
        print(f"  EXTRA actual line {al}: {short(a, [k for k in a if k in ident + ['bytes', 'packets', 'end', 'exporter', 'version']])}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
