#!/usr/bin/env python3
"""Cross-check an expected.jsonl (tshark-derived) against nfdump.

Usage: crosscheck-nfdump.py [--sfcapd] CAPTURE.pcap EXPECTED.jsonl WORKDIR NFCAPD_PORT

(--sfcapd: the capture holds sFlow; nfdump's sfcapd collects it instead.)

Replays the UDP payloads of CAPTURE.pcap from the capture's exporter address
(127.0.0.1 or ::1) to an nfcapd started on that loopback address, lets nfcapd
write its file, reads it back with `nfdump -o json` and asserts that every
tshark flow matches exactly one nfdump flow (multiset) on every key both
decoders provide: addresses, ports, proto, bytes, packets, start/end (ms),
tcp_flags, tos, icmp type/code, interfaces, next hop, AS, masks.
Keys nfdump leaves out (it omits zero-valued extensions) are compared only
when nfdump has them; the 5-tuple, counters and times must always be there.
Exit 1 on any disagreement.  python3 stdlib only.

Known, understood nfdump 1.7.1 disagreements are tolerated only when named
with --known (and each use is reported):
  ipfix-sysuptime-swapped  nfdump 1.7.1 decodes IPFIX flowStartSysUpTime (22)
                           as the end and flowEndSysUpTime (21) as the start
                           (its "first" > "last"); swap them back.
  v9-icmp-zero             nfdump 1.7.1's v9 decoder prints ICMP type/code 0.0
                           when the record carries them in element 139
                           (icmpTypeCodeIPv6, softflowd) or only in
                           L4_DST_PORT (pmacct); for proto 1/58 records where
                           nfdump says 0.0, icmp_type/icmp_code are not compared.
  sflow-icmp-zero          nfdump 1.7.1's sfcapd gives every ICMP sample type 0
                           (and a code that is not the header's, e.g. 0.3 for
                           3.3); where nfdump says type 0, icmp_type/icmp_code
                           are not compared.
"""
import ipaddress
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time


def udp_payloads(path):
    """(src_ip, payload) of every UDP datagram in a classic pcap (Ethernet or raw/null/Linux SLL)."""
    with open(path, "rb") as fh:
        data = fh.read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        e = "<"
    elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
        e = ">"
    else:
        raise SystemExit(f"{path}: not a classic pcap")
    linktype = struct.unpack(e + "I", data[20:24])[0]
    off = 24
    out = []
    while off + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(e + "IIII", data[off:off + 16])
        pkt = data[off + 16: off + 16 + caplen]
        off += 16 + caplen
        if linktype == 1:
            etype = struct.unpack("!H", pkt[12:14])[0]
            l3 = pkt[14:]
        elif linktype == 113:
            etype = struct.unpack("!H", pkt[14:16])[0]
            l3 = pkt[16:]
        elif linktype in (101, 12):
            etype = 0x0800 if pkt[0] >> 4 == 4 else 0x86DD
            l3 = pkt
        else:
            raise SystemExit(f"{path}: unsupported linktype {linktype}")
        if etype == 0x0800:
            ihl = (l3[0] & 0xF) * 4
            if l3[9] != 17:
                continue
            src = str(ipaddress.ip_address(l3[12:16]))
            l4 = l3[ihl:]
        elif etype == 0x86DD:
            if l3[6] != 17:
                continue
            src = str(ipaddress.ip_address(l3[8:24]))
            l4 = l3[40:]
        else:
            continue
        ulen = struct.unpack("!H", l4[4:6])[0]
        out.append((src, l4[8:ulen]))
    return out


FLAGS = "CEUAPRSF"


def nf_flags(s):
    if isinstance(s, int):
        return s
    v = 0
    for i, ch in enumerate(s):
        if ch != ".":
            v |= 1 << (7 - i)
    return v


def nf_time(s):
    # nfdump prints local time without zone; we run it with TZ=UTC
    return s + "Z" if not s.endswith("Z") else s


def from_nfdump(r):
    m = {}
    m["src_addr"] = str(ipaddress.ip_address(r.get("src4_addr") or r.get("src6_addr")))
    m["dst_addr"] = str(ipaddress.ip_address(r.get("dst4_addr") or r.get("dst6_addr")))
    m["proto"] = r["proto"]
    m["bytes"] = r["in_bytes"]
    m["packets"] = r["in_packets"]
    m["start"] = nf_time(r["first"])
    m["end"] = nf_time(r["last"])
    if m["proto"] in (1, 58):
        if "icmp_type" in r:
            m["icmp_type"] = r["icmp_type"]
            m["icmp_code"] = r["icmp_code"]
    else:
        m["src_port"] = r["src_port"]
        m["dst_port"] = r["dst_port"]
    opt = {"tcp_flags": ("tcp_flags", nf_flags), "src_tos": ("tos", int),
           "input_snmp": ("in_if", int), "output_snmp": ("out_if", int),
           "ip4_next_hop": ("next_hop", lambda a: str(ipaddress.ip_address(a))),
           "ip6_next_hop": ("next_hop", lambda a: str(ipaddress.ip_address(a))),
           "src_as": ("src_as", int), "dst_as": ("dst_as", int),
           "src_mask": ("src_mask", int), "dst_mask": ("dst_mask", int)}
    for k, (ck, conv) in opt.items():
        if k in r:
            m[ck] = conv(r[k])
    return m


ALWAYS = ["src_addr", "dst_addr", "proto", "bytes", "packets", "start", "end"]


def agree(exp, nf):
    """list of (key, tshark, nfdump) disagreements; [] if they agree."""
    diffs = []
    for k in ALWAYS + ["src_port", "dst_port"]:
        if k in ("src_port", "dst_port") and exp.get("proto") in (1, 58):
            continue
        if k in exp and exp[k] != nf.get(k):
            diffs.append((k, exp[k], nf.get(k)))
    for k, v in nf.items():
        if k in ALWAYS or k in ("src_port", "dst_port"):
            continue
        if k in exp and exp[k] != v:
            diffs.append((k, exp[k], v))
    return diffs


KNOWN = ("ipfix-sysuptime-swapped", "v9-icmp-zero", "sflow-icmp-zero")


def main():
    args = sys.argv[1:]
    known = set()
    collector = "nfcapd"
    if "--sfcapd" in args:
        args.remove("--sfcapd")
        collector = "sfcapd"
    while "--known" in args:
        i = args.index("--known")
        known.add(args[i + 1])
        del args[i:i + 2]
    if len(args) != 4 or not known <= set(KNOWN):
        raise SystemExit(__doc__)
    pcap, expected, workdir, port = args[0], args[1], args[2], int(args[3])
    name = os.path.basename(pcap).rsplit(".pcap", 1)[0]
    dgrams = udp_payloads(pcap)
    exporters = {s for s, _ in dgrams}
    if len(exporters) != 1:
        raise SystemExit(f"{pcap}: expected one exporter, got {exporters}")
    exporter = exporters.pop()
    v6 = ":" in exporter
    outdir = os.path.join(workdir, "nfcapd-" + name)
    os.makedirs(outdir, exist_ok=True)
    for f in os.listdir(outdir):
        os.unlink(os.path.join(outdir, f))
    cmd = [collector, "-w", outdir, "-p", str(port), "-b", exporter]
    if v6:
        cmd.append("-6")
    log = open(os.path.join(workdir, f"nfcapd-{name}.log"), "w")
    nfc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        time.sleep(1.0)
        s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((exporter, 0))
        for _, payload in dgrams:
            s.sendto(payload, (exporter, port))
            time.sleep(0.02)
        s.close()
        time.sleep(1.0)
    finally:
        nfc.send_signal(signal.SIGTERM)
        try:
            nfc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            nfc.kill()
            nfc.wait()
    files = [f for f in os.listdir(outdir) if f.startswith("nfcapd.2")]
    if not files:
        raise SystemExit(f"{name}: {collector} wrote nothing, see {log.name}")
    env = dict(os.environ, TZ="UTC")
    nf = []
    # nfdump 1.7.1 prints sFlow's ICMPv6 samples as "EVENT" records
    kinds = ("FLOW", "EVENT") if collector == "sfcapd" else ("FLOW",)
    # more than one file when the run crossed a 5-minute rotation
    for f in sorted(files):
        js = subprocess.run(["nfdump", "-r", os.path.join(outdir, f), "-o", "json"],
                            check=True, capture_output=True, text=True, env=env).stdout
        nf += [from_nfdump(r) for r in json.loads(js or "[]") if r.get("type") in kinds]
    notes = []
    if "ipfix-sysuptime-swapped" in known:
        n_sw = 0
        for n in nf:
            if n["start"] > n["end"]:
                n["start"], n["end"] = n["end"], n["start"]
                n_sw += 1
        notes.append(f"known nfdump quirk ipfix-sysuptime-swapped: swapped start/end of {n_sw} nfdump flows")
    for quirk in sorted(known & {"v9-icmp-zero", "sflow-icmp-zero"}):
        n_ic = 0
        for n in nf:
            if n["proto"] in (1, 58) and n.get("icmp_type") == 0 and (
                    n.get("icmp_code") == 0 or quirk == "sflow-icmp-zero"):
                del n["icmp_type"], n["icmp_code"]
                n_ic += 1
        notes.append(f"known nfdump quirk {quirk}: icmp type/code not compared for {n_ic} ICMP nfdump flows that say 0.0")
    with open(expected) as fh:
        exp = [json.loads(l) for l in fh if l.strip()]
    ok = True
    problems = []
    print_ = problems.append
    remaining = list(nf)
    for e in exp:
        best = None
        for i, n in enumerate(remaining):
            if not agree(e, n):
                best = i
                break
        if best is None:
            ok = False
            print_(f"{name}: tshark flow has no agreeing nfdump flow: {json.dumps(e)}")
            for n in remaining:
                if (n["src_addr"], n["dst_addr"], n["proto"]) == (e["src_addr"], e["dst_addr"], e["proto"]) \
                        and n.get("src_port") == e.get("src_port") and n.get("dst_port") == e.get("dst_port"):
                    print_(f"    nfdump candidate differs on: {agree(e, n)}")
        else:
            remaining.pop(best)
    for n in remaining:
        ok = False
        print_(f"{name}: extra nfdump flow not in tshark output: {json.dumps(n)}")
    for line in problems[:30]:
        print(line)
    if len(problems) > 30:
        print(f"{name}: ... {len(problems) - 30} more problem lines")
    if not ok:
        sys.exit(1)
    shared = sorted({k for n in nf for k in n})
    for note in notes:
        print(f"{name}: {note}")
    print(f"{name}: tshark and nfdump agree on {len(exp)} flows (keys nfdump gives: {', '.join(shared)})")


if __name__ == "__main__":
    main()
