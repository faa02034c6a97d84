#!/usr/bin/env python3
"""Generate parser/ie-table.c from the registry data in parser/ie-data/.

Usage:
    parser/gen-ie-table.py            rewrite parser/ie-table.c
    parser/gen-ie-table.py --check    exit 1 if parser/ie-table.c is stale
    parser/gen-ie-table.py -o FILE    write somewhere else ("-" = stdout)

The output depends only on the data files: rows are sorted by (pen, id)
and nothing time- or host-dependent is written, so two runs give the same
bytes.  Provenance of every data file is in parser/IE-TABLE.md.

semantics.csv adds what decoding does with some IANA elements (the core
key a field feeds, what it announces in options data) to their rows.
"""

import argparse
import csv
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DATA_DIR = os.path.join(HERE, "ie-data")
DEFAULT_OUT = os.path.join(HERE, "ie-table.c")

# Data files in the order they are listed in the generated header.  Only
# netflow-v9.csv may (and must) use ids >= 32768: NetFlow v9 field types are
# plain 16-bit numbers, while in IPFIX the top bit is the enterprise bit.
SOURCES = [
    ("iana.csv", False),
    ("netflow-v9.csv", True),
    ("cisco.csv", False),
    ("netscaler.csv", False),
    ("vmware.csv", False),
    ("ntop.csv", False),
]

PEN_NAMES = {
    0: "IANA (and NetFlow v9 field types)",
    9: "Cisco Systems",
    5951: "Citrix NetScaler",
    6876: "VMware",
    35632: "ntop",
}

# IANA abstract data types -> enum ie_type.  unsigned256 (RFC 9740 bitmaps)
# has no integer type of its own here; it is decoded as raw octets.
TYPES = {
    "octetArray": "IE_OCTETS",
    "unsigned256": "IE_OCTETS",
    "unsigned8": "IE_UNSIGNED",
    "unsigned16": "IE_UNSIGNED",
    "unsigned32": "IE_UNSIGNED",
    "unsigned64": "IE_UNSIGNED",
    "signed8": "IE_SIGNED",
    "signed16": "IE_SIGNED",
    "signed32": "IE_SIGNED",
    "signed64": "IE_SIGNED",
    "float32": "IE_FLOAT",
    "float64": "IE_FLOAT",
    "boolean": "IE_BOOL",
    "macAddress": "IE_MAC",
    "string": "IE_STRING",
    "dateTimeSeconds": "IE_DATE_S",
    "dateTimeMilliseconds": "IE_DATE_MS",
    "dateTimeMicroseconds": "IE_DATE_US",
    "dateTimeNanoseconds": "IE_DATE_NS",
    "ipv4Address": "IE_IPV4",
    "ipv6Address": "IE_IPV6",
    "basicList": "IE_BASIC_LIST",
    "subTemplateList": "IE_SUBTEMPLATE_LIST",
    "subTemplateMultiList": "IE_SUBTEMPLATE_MULTILIST",
}

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

SEMANTICS = "semantics.csv"

# semantics.csv Core -> (enum core_kind, enum prefix of its Slot, slots)
FLOW_NUMS = ["src_port", "dst_port", "proto", "icmp_type", "icmp_code",
             "bytes", "packets", "tcp_flags", "tos", "in_if", "out_if",
             "src_as", "dst_as", "src_mask", "dst_mask", "sampling_interval"]
FLOW_ADDRS = ["src_addr", "dst_addr", "next_hop"]
TIME_FORMS = ["uptime_ms", "seconds", "ms", "ntp", "delta_us", "duration_ms",
              "duration_us"]
CORES = {
    "num": ("CORE_NUM", "FLOW_", FLOW_NUMS),
    "num_fallback": ("CORE_NUM_FALLBACK", "FLOW_", FLOW_NUMS),
    "addr4": ("CORE_ADDR4", "FLOW_", FLOW_ADDRS),
    "addr6": ("CORE_ADDR6", "FLOW_", FLOW_ADDRS),
    "time": ("CORE_TIME", "TIME_", TIME_FORMS),
    "icmp_typecode": ("CORE_ICMP_TYPECODE", None, []),
    "sysinit": ("CORE_SYSINIT", None, []),
}
# semantics.csv Option -> enum ie_option
OPTIONS = ["ifindex", "sampler_id", "interval", "packet_interval",
           "packet_space", "sampling_size", "sampling_population", "if_name",
           "if_desc", "sysinit"]


class DataError(Exception):
    pass


def read_source(fname, v9_only):
    path = os.path.join(DATA_DIR, fname)
    with open(path, newline="", encoding="utf-8") as f:
        lines = [(n, l) for n, l in enumerate(f, 1)
                 if l.strip() and not l.startswith("#")]
    reader = csv.DictReader(l for _, l in lines)
    need = ["PEN", "ElementID", "Name", "Abstract Data Type"]
    if reader.fieldnames is None or any(c not in reader.fieldnames for c in need):
        raise DataError(f"{fname}: header must contain {', '.join(need)}")
    rows = []
    for (lineno, _), rec in zip(lines[1:], reader):
        where = f"{fname}:{lineno}"
        try:
            pen = int(rec["PEN"])
            eid = int(rec["ElementID"])
        except (TypeError, ValueError):
            raise DataError(f"{where}: PEN and ElementID must be integers")
        name = (rec["Name"] or "").strip()
        adt = (rec["Abstract Data Type"] or "").strip()
        if not 0 <= pen <= 0xFFFFFFFF:
            raise DataError(f"{where}: PEN {pen} out of range")
        if v9_only:
            if pen != 0 or not 32768 <= eid <= 65535:
                raise DataError(f"{where}: NetFlow v9 rows are pen 0, "
                                f"32768 <= id <= 65535")
        elif not 1 <= eid <= 32767:
            raise DataError(f"{where}: id {eid} not in 1..32767")
        if not IDENT.match(name):
            raise DataError(f"{where}: name {name!r} is not an identifier")
        if adt not in TYPES:
            raise DataError(f"{where}: unknown abstract data type {adt!r}")
        rows.append((pen, eid, TYPES[adt], name, where))
    return rows


def read_semantics(rows):
    """{(0, id): C designators} from semantics.csv, checked against rows."""
    names = {(r[0], r[1]): r[3] for r in rows}
    path = os.path.join(DATA_DIR, SEMANTICS)
    with open(path, newline="", encoding="utf-8") as f:
        lines = [(n, l) for n, l in enumerate(f, 1)
                 if l.strip() and not l.startswith("#")]
    reader = csv.DictReader(l for _, l in lines)
    need = ["ElementID", "Name", "Core", "Slot", "End", "Option"]
    if reader.fieldnames != need:
        raise DataError(f"{SEMANTICS}: header must be {','.join(need)}")
    out = {}
    for (lineno, _), rec in zip(lines[1:], reader):
        where = f"{SEMANTICS}:{lineno}"
        try:
            eid = int(rec["ElementID"])
        except (TypeError, ValueError):
            raise DataError(f"{where}: ElementID must be an integer")
        if names.get((0, eid)) != rec["Name"]:
            raise DataError(f"{where}: ({eid}, {rec['Name']!r}) is not an "
                            f"IANA row (there: {names.get((0, eid))!r})")
        if (0, eid) in out:
            raise DataError(f"{where}: {eid} twice")
        core, slot, end, opt = (rec[k] or "" for k in need[2:])
        fields = []
        if core:
            if core not in CORES:
                raise DataError(f"{where}: unknown Core {core!r}")
            kind, prefix, slots = CORES[core]
            if (slot != "") != bool(slots) or (slots and slot not in slots):
                raise DataError(f"{where}: bad Slot {slot!r} for {core}")
            fields.append(f".core = {kind}")
            if slot:
                fields.append(f".slot = {prefix}{slot.upper()}")
            if end not in ("", "end") or (end and core != "time"):
                raise DataError(f"{where}: End is 'end' (times) or empty")
            if end:
                fields.append(".time_end = true")
        elif slot or end:
            raise DataError(f"{where}: Slot/End without Core")
        if opt:
            if opt not in OPTIONS:
                raise DataError(f"{where}: unknown Option {opt!r}")
            fields.append(f".option = IE_OPT_{opt.upper()}")
        if not fields:
            raise DataError(f"{where}: neither Core nor Option")
        out[0, eid] = ", ".join(fields)
    return out


def load():
    rows = []
    for fname, v9_only in SOURCES:
        rows.extend(read_source(fname, v9_only))
    rows.sort(key=lambda r: (r[0], r[1]))
    check(rows)
    return rows, read_semantics(rows)


def check(rows):
    seen = {}
    names = {}
    for pen, eid, _, name, where in rows:
        if (pen, eid) in seen:
            raise DataError(f"{where}: duplicate ({pen}, {eid}), "
                            f"first at {seen[pen, eid]}")
        seen[pen, eid] = where
        # Names double as JSON keys, so keep them unique within a PEN.
        if (pen, name) in names:
            raise DataError(f"{where}: duplicate name {name!r} in PEN {pen}, "
                            f"first at {names[pen, name]}")
        names[pen, name] = where
    keys = [(r[0], r[1]) for r in rows]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)


def render(rows, semantics):
    out = []
    out.append("/*")
    out.append(" * Generated by parser/gen-ie-table.py from")
    for f, _ in SOURCES:
        out.append(f" *   parser/ie-data/{f}")
    out.append(f" *   parser/ie-data/{SEMANTICS}")
    out.append(" * -- do not edit; change the data and rerun the script.")
    out.append(" * Sources and naming decisions: parser/IE-TABLE.md.")
    out.append(" */")
    out.append("")
    out.append('#include "ie.h"')
    out.append('#include "parser-private.h"')
    out.append("")
    out.append("/* sorted by (pen, id), no duplicates */")
    out.append("const struct ie_info ie_table[] = {")
    pen = None
    for p, eid, typ, name, _ in rows:
        if p != pen:
            if pen is not None:
                out.append("")
            label = PEN_NAMES.get(p, "enterprise")
            out.append(f"\t/* PEN {p}: {label} */")
            pen = p
        more = semantics.get((p, eid))
        more = f",\n\t    {more}" if more else ""
        out.append(f'\t{{ {p}, {eid}, {typ}, "{name}"{more} }},')
    out.append("};")
    out.append("")
    out.append("const size_t ie_table_len = sizeof(ie_table) / sizeof(ie_table[0]);")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", default=DEFAULT_OUT)
    ap.add_argument("--check", action="store_true",
                    help="compare with the output file instead of writing it")
    args = ap.parse_args()
    try:
        rows, semantics = load()
    except (DataError, OSError) as e:
        print(f"gen-ie-table: {e}", file=sys.stderr)
        return 1
    text = render(rows, semantics)
    if args.check:
        try:
            with open(args.output, encoding="utf-8") as f:
                current = f.read()
        except OSError as e:
            print(f"gen-ie-table: {e}", file=sys.stderr)
            return 1
        if current != text:
            print(f"gen-ie-table: {args.output} is out of date", file=sys.stderr)
            return 1
        return 0
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
