#!/usr/bin/env python3
"""netflow-analyze's connection direction against ground truth.

    direction_test.py FIXTURE      exit 0 pass, 1 fail, 77 skip

data/direction/traffic.pcap (make-direction-traffic.py) holds connections
whose initiator is known from the packet order: the sender of the first
packet of each conversation. data/direction/FIXTURE.pcap holds that
traffic as exported by a real exporter (make-direction-fixtures.sh). The
test decodes the export with `netflowd --read`, runs netflow-analyze on it
and requires, for every connection of the traffic (IPv4 only for NetFlow
v5): exactly one connection, paired, with the true initiator as its source
in --json; the same source and destination, in the same order, in the text
listing; and --summary counting the same connections and pairs.

Environment: ANALYZER, NETFLOWD, DATA (tests/analyzer/data).
"""
import collections
import ipaddress
import json
import os
import re
import struct
import subprocess
import sys
import tempfile

ANALYZER = os.environ.get("ANALYZER", "netflow-analyze")
NETFLOWD = os.environ.get("NETFLOWD", "netflowd")
DATA = os.environ.get("DATA", os.path.join(os.path.dirname(os.path.abspath(__file__)), "data"))
DIRECTION = os.path.join(DATA, "direction")
SERVICES = os.path.join(DATA, "services")
SKIP = 77
# Exporters whose only format here is NetFlow v5, which has no IPv6.
V4_ONLY = {"softflowd-v5", "pmacct-v5", "nfreplay-v5", "fprobe-v5"}


def packets(path):
    """Yields (proto, src, sport, dst, dport) of each IPv4/IPv6 packet of an
    Ethernet pcap; ports 0 for ICMP."""
    with open(path, "rb") as f:
        data = f.read()
    if struct.unpack("<I", data[:4])[0] != 0xA1B2C3D4 or struct.unpack("<I", data[20:24])[0] != 1:
        raise SystemExit("%s: not a little-endian Ethernet pcap" % path)
    off = 24
    while off + 16 <= len(data):
        caplen = struct.unpack("<I", data[off + 8:off + 12])[0]
        frame = data[off + 16:off + 16 + caplen]
        off += 16 + caplen
        etype = struct.unpack("!H", frame[12:14])[0]
        ip = frame[14:]
        if etype == 0x0800:
            proto, l4 = ip[9], ip[(ip[0] & 15) * 4:]
            src, dst = ipaddress.IPv4Address(ip[12:16]), ipaddress.IPv4Address(ip[16:20])
        elif etype == 0x86DD:
            proto, l4 = ip[6], ip[40:]
            src, dst = ipaddress.IPv6Address(ip[8:24]), ipaddress.IPv6Address(ip[24:40])
        else:
            continue
        sport, dport = struct.unpack("!HH", l4[:4]) if proto in (6, 17) else (0, 0)
        yield proto, str(src), sport, str(dst), dport


def key(proto, a, ap, b, bp):
    return (proto, frozenset([(a, ap), (b, bp)]))


def ground_truth(v4_only):
    """{conversation key: (initiator addr, port)} from the packet order."""
    truth = {}
    for proto, src, sport, dst, dport in packets(os.path.join(DIRECTION, "traffic.pcap")):
        if v4_only and ":" in src:
            continue
        truth.setdefault(key(proto, src, sport, dst, dport), (src, sport))
    return truth


def run(args, **kw):
    p = subprocess.run(args, capture_output=True, text=True, timeout=60, **kw)
    if p.returncode != 0:
        raise SystemExit("%s: exit %d\n%s" % (" ".join(args), p.returncode, p.stderr))
    return p.stdout


def norm(addr):
    return str(ipaddress.ip_address(addr))


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    name = sys.argv[1]
    export = os.path.join(DIRECTION, name + ".pcap")
    if not os.access(NETFLOWD, os.X_OK):
        print("SKIP: no netflowd binary at %s" % NETFLOWD)
        return SKIP
    truth = ground_truth(name in V4_ONLY)
    with tempfile.TemporaryDirectory(prefix="direction-") as tmp:
        flows = os.path.join(tmp, "flows.json")
        with open(flows, "w") as out:
            r = subprocess.run([NETFLOWD, "--read", export, "--stdout"], stdout=out,
                               stderr=subprocess.PIPE, text=True, timeout=60)
        if r.returncode != 0 and "built without pcap" in r.stderr:
            print("SKIP: " + r.stderr.strip())
            return SKIP
        if r.returncode != 0:
            raise SystemExit("netflowd --read %s: exit %d\n%s" % (export, r.returncode, r.stderr))
        base = [ANALYZER, "-n", "-m", "0", "--services", SERVICES]
        conns = [json.loads(l) for l in run(base + ["--json", flows]).splitlines()]
        text = run(base + [flows]).splitlines()
        totals = json.loads(run(base + ["--summary", "--json", flows]).splitlines()[0])

    problems = []
    seen = collections.Counter()
    by = collections.Counter()
    for c in conns:
        src, dst = norm(c["src_addr"]), norm(c["dst_addr"])
        k = key(c["proto"], src, c.get("src_port", 0), dst, c.get("dst_port", 0))
        seen[k] += 1
        by[c.get("initiator_by")] += 1
        line = "%s %s:%s -> %s:%s (%s)" % (c["service"], src, c.get("src_port", "-"), dst,
                                           c.get("dst_port", "-"), c.get("initiator_by"))
        if k not in truth:
            problems.append("not in the traffic: " + line)
        elif truth[k] != (src, c.get("src_port", 0)):
            problems.append("wrong initiator (truth %s:%s): %s" % (truth[k] + (line,)))
        elif not c["paired"]:
            problems.append("not paired: " + line)
    for k, n in seen.items():
        if n > 1:
            problems.append("%d connections for %s" % (n, sorted(k[1])))
    for k, ini in truth.items():
        if k not in seen:
            problems.append("missing: proto %d, initiator %s:%s" % (k[0], ini[0], ini[1]))

    # The text listing names the same sides in the same order.
    pat = re.compile(r"\| (\S+) \((\S+)\) to (\S+) \((\S+)\)( \[one-way\])?$")
    if len(text) != len(conns):
        problems.append("text listing has %d lines, --json %d" % (len(text), len(conns)))
    for line, c in zip(text, conns):
        m = pat.search(line)
        if not m or (norm(m.group(2)), norm(m.group(4))) != (norm(c["src_addr"]), norm(c["dst_addr"])):
            problems.append("text and --json disagree: %r vs %s -> %s" %
                            (line, c["src_addr"], c["dst_addr"]))
    paired = sum(1 for c in conns if c["paired"])
    if (totals.get("connections"), totals.get("paired")) != (len(conns), paired):
        problems.append("--summary counts %s connections, %s paired; the listing %d, %d" %
                        (totals.get("connections"), totals.get("paired"), len(conns), paired))

    print("%s: %d connections, %d in the traffic; decided by %s" %
          (name, len(conns), len(truth), dict(sorted(by.items()))))
    for p in problems:
        print("FAIL: " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
