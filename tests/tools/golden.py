#!/usr/bin/env python3
"""Golden test: decode a captured pcap with `netflowd --read FILE --stdout`
and compare every flow with what an independent decoder said about the same
datagrams (tests/golden/NAME.expected.jsonl, from tshark, cross-checked
with nfdump). Usage: golden.py NETFLOWD COMPARE.py PCAP EXPECTED"""
import os
import subprocess
import sys
import tempfile

import strictjson

netflowd, compare, pcap, expected = sys.argv[1:5]
if "pcap" not in os.environ.get("NETFLOWD_FEATURES", "pcap").split(","):
    print("netflowd built without pcap: no --read, skipped")
    sys.exit(77)
r = subprocess.run([os.path.abspath(netflowd), "--read", pcap, "--stdout"],
                   capture_output=True, timeout=60)
if r.returncode != 0:
    sys.stderr.write(r.stderr.decode(errors="replace"))
    sys.exit("netflowd --read exited %d" % r.returncode)
if b"dropped" in r.stderr:
    sys.stderr.write(r.stderr.decode(errors="replace"))
    sys.exit("netflowd dropped data from a real exporter's capture")
try:
    strictjson.lines(r.stdout, "netflowd --read %s" % os.path.basename(pcap))
except strictjson.StrictJSONError as e:
    sys.exit("not strict JSON: %s" % e)
with tempfile.NamedTemporaryFile(suffix=".jsonl") as out:
    out.write(r.stdout)
    out.flush()
    sys.exit(subprocess.run([sys.executable, compare, out.name, expected]).returncode)
