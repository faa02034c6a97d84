#!/usr/bin/env python3
"""Decode a pcap of NetFlow/IPFIX export datagrams with tshark's cflow
dissector and print one JSON object per exported FLOW DATA RECORD, using
netflowd's core keys (see /work/shared/DESIGN.md).

Usage: normalize-tshark.py CAPTURE.pcap UDP_PORT > CAPTURE.expected.jsonl

Only keys the record actually carries are written (plus version, exporter,
domain and the absolute start/end computed from the record and its header):

  v5:   boot_ms = unix_secs*1000 + floor(unix_nsecs/1e6) - sys_uptime
        start   = header_ms - int32(uint32(sys_uptime - first_switched))
        (header_ms = unix_secs*1000 + floor(unix_nsecs/1e6)), same for end.
  v9:   header_ms = unix_secs*1000, then as v5 for FIRST/LAST_SWITCHED;
        flowStart/EndMilliseconds (152/153) are used as they are.
  IPFIX: flowStart/EndMilliseconds as they are; flowStart/EndSysUpTime
        (22/21) are added to systemInitTimeMilliseconds (160) announced in
        an options data record of the same exporter/domain.

ICMP: icmp_type/icmp_code come from the ICMP type/code element when the
record has one, else (v5, or port-only templates) from the ports, as nfdump
does: dst_port = type << 8 | code (softflowd, pmacct, Cisco), except when
0 < src_port < 256 and dst_port < 256, which is fprobe's src_port = type,
dst_port = code.
"""
import ipaddress
import json
import re
import subprocess
import sys
from datetime import datetime, timezone
from decimal import Decimal

MONTHS = {m: i + 1 for i, m in enumerate(
    "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split())}


def abs_ms(s):
    """tshark absolute time 'May  1, 2024 12:01:00.600000000 UTC' -> unix ms"""
    m = re.fullmatch(r"(\w{3})\s+(\d+), (\d{4}) (\d\d):(\d\d):(\d\d)(?:\.(\d+))? UTC", s.strip())
    if not m:
        raise ValueError(f"unparsable tshark time {s!r}")
    mon, day, year, hh, mm, ss, frac = m.groups()
    dt = datetime(int(year), MONTHS[mon], int(day), int(hh), int(mm), int(ss), tzinfo=timezone.utc)
    frac = (frac or "0").ljust(9, "0")
    return int(dt.timestamp()) * 1000 + int(frac[:3])


def rel_ms(s):
    """tshark relative time '179.390000000' (seconds) -> ms (exact)"""
    return int((Decimal(s) * 1000).to_integral_value())


def rfc3339(ms):
    dt = datetime.fromtimestamp(ms // 1000, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (ms % 1000)


def int32(x):
    x &= 0xFFFFFFFF
    return x - (1 << 32) if x & 0x80000000 else x


def uptime_to_abs(header_ms, sys_uptime_ms, t_ms):
    return header_ms - int32(sys_uptime_ms - t_ms)


def num(v):
    if isinstance(v, list):
        raise ValueError(f"repeated field {v!r}")
    return int(v, 16) if v.startswith("0x") else int(v)


def addr(v):
    if isinstance(v, list):
        raise ValueError(f"repeated field {v!r}")
    return str(ipaddress.ip_address(v))


SIMPLE = {  # tshark field -> (core key, converter)
    "cflow.srcaddr": ("src_addr", addr),
    "cflow.srcaddrv6": ("src_addr", addr),
    "cflow.dstaddr": ("dst_addr", addr),
    "cflow.dstaddrv6": ("dst_addr", addr),
    "cflow.srcport": ("src_port", num),
    "cflow.dstport": ("dst_port", num),
    "cflow.protocol": ("proto", num),
    "cflow.octets": ("bytes", num),
    "cflow.octets64": ("bytes", num),
    "cflow.packets": ("packets", num),
    "cflow.packets64": ("packets", num),
    "cflow.tcpflags": ("tcp_flags", num),
    "cflow.tos": ("tos", num),
    "cflow.inputint": ("in_if", num),
    "cflow.outputint": ("out_if", num),
    "cflow.nexthop": ("next_hop", addr),
    "cflow.nexthopv6": ("next_hop", addr),
    "cflow.srcas": ("src_as", num),
    "cflow.dstas": ("dst_as", num),
    "cflow.srcmask": ("src_mask", num),
    "cflow.srcmaskv6": ("src_mask", num),
    "cflow.dstmask": ("dst_mask", num),
    "cflow.dstmaskv6": ("dst_mask", num),
    "cflow.icmp_ipv4_type": ("icmp_type", num),
    "cflow.icmp_ipv4_code": ("icmp_code", num),
    "cflow.icmp_ipv6_type": ("icmp_type", num),
    "cflow.icmp_ipv6_code": ("icmp_code", num),
}

KEY_ORDER = ["version", "exporter", "domain", "start", "end", "src_addr", "dst_addr",
             "src_port", "dst_port", "proto", "icmp_type", "icmp_code", "bytes", "packets",
             "tcp_flags", "tos", "in_if", "out_if", "next_hop", "src_as", "dst_as",
             "src_mask", "dst_mask", "sampling_interval"]


def flatten(d, out):
    """Collect leaf fields of one record (tshark nests some in *_tree)."""
    for k, v in d.items():
        if isinstance(v, dict):
            if k.endswith("_tree"):
                flatten(v, out)
            continue
        out.setdefault(k, v)
    return out


def is_record_key(k):
    return k.startswith("Flow ") or k.startswith("pdu ")


def main():
    pcap, port = sys.argv[1], sys.argv[2]
    js = subprocess.run(
        ["tshark", "-r", pcap, "-n", "-d", f"udp.port=={port},cflow", "-T", "json", "--no-duplicate-keys"],
        check=True, capture_output=True, text=True).stdout
    packets = json.loads(js)
    sys_init = {}        # (exporter, domain) -> systemInitTimeMilliseconds
    options_tids = {}    # (exporter, domain) -> set of options template ids
    out = []
    for p in packets:
        L = p["_source"]["layers"]
        if "cflow" not in L:
            raise SystemExit(f"{pcap}: frame {L['frame']['frame.number']} not decoded as cflow")
        cf = L["cflow"]
        exporter = addr(L["ip"]["ip.src"] if "ip" in L else L["ipv6"]["ipv6.src"])
        version = int(cf["cflow.version"])
        hdr = flatten(cf, {})
        if version == 5:
            header_ms = int(hdr["cflow.unix_secs"]) * 1000 + int(hdr["cflow.unix_nsecs"]) // 1000000
            uptime = rel_ms(hdr["cflow.sysuptime"])
            domain = (int(hdr["cflow.engine_type"]) << 8) | int(hdr["cflow.engine_id"])
        elif version == 9:
            header_ms = int(hdr["cflow.unix_secs"]) * 1000
            uptime = rel_ms(hdr["cflow.sysuptime"])
            domain = int(hdr["cflow.source_id"])
        elif version == 10:
            header_ms = int(hdr["cflow.exporttime"]) * 1000
            uptime = None
            domain = int(hdr["cflow.od_id"])
        else:
            raise SystemExit(f"unsupported version {version}")
        key = (exporter, domain)
        # record sets: v5 has "pdu i/n" directly under cflow; v9/IPFIX nest them in (Flow)Sets
        sets = [("", cf)] if version == 5 else [(k, v) for k, v in cf.items()
                                                 if (k.startswith("FlowSet ") or k.startswith("Set ")) and isinstance(v, dict)]
        for sname, s in sets:
            # remember options templates
            for k, v in s.items():
                if k.startswith("Options Template") and isinstance(v, dict):
                    options_tids.setdefault(key, set()).add(int(v["cflow.template_id"]))
            sid = int(s.get("cflow.flowset_id", "-1"))
            for rk, rv in s.items():
                if not is_record_key(rk) or not isinstance(rv, dict):
                    continue
                f = flatten(rv, {})
                if sid in options_tids.get(key, set()):
                    if "cflow.sys_init_time" in f:
                        sys_init[key] = abs_ms(f["cflow.sys_init_time"])
                    continue
                if not any(a in f for a in ("cflow.srcaddr", "cflow.srcaddrv6")):
                    continue  # not a flow record
                rec = {"version": version, "exporter": exporter, "domain": domain}
                for tk, (ck, conv) in SIMPLE.items():
                    if tk in f:
                        if ck in rec:
                            raise SystemExit(f"{pcap}: {ck} twice in a record: {f}")
                        rec[ck] = conv(f[tk])
                if "cflow.icmp_type_code_ipv4" in f:
                    tc = num(f["cflow.icmp_type_code_ipv4"])
                    rec["icmp_type"], rec["icmp_code"] = tc >> 8, tc & 0xFF
                if "cflow.icmp_type_code_ipv6" in f:
                    tc = num(f["cflow.icmp_type_code_ipv6"])
                    rec["icmp_type"], rec["icmp_code"] = tc >> 8, tc & 0xFF
                if rec.get("proto") in (1, 58) and "icmp_type" not in rec and "dst_port" in rec:
                    sp, dp = rec.get("src_port", 0), rec["dst_port"]
                    if 0 < sp < 256 and dp < 256:
                        # fprobe style: src_port = type, dst_port = code
                        rec["icmp_type"], rec["icmp_code"] = sp, dp
                    else:
                        # softflowd/pmacct/Cisco style: dst_port = type << 8 | code
                        rec["icmp_type"], rec["icmp_code"] = dp >> 8, dp & 0xFF
                # times
                for tk, ck in (("cflow.abstimestart", "start"), ("cflow.abstimeend", "end")):
                    if tk in f:
                        rec[ck] = rfc3339(abs_ms(f[tk]))
                for tk, ck in (("cflow.timestart", "start"), ("cflow.timeend", "end")):
                    if tk in f and ck not in rec:
                        t = rel_ms(f[tk])
                        if version in (5, 9):
                            rec[ck] = rfc3339(uptime_to_abs(header_ms, uptime, t))
                        else:
                            if key not in sys_init:
                                raise SystemExit(f"{pcap}: IPFIX sysUpTime record before systemInitTimeMilliseconds")
                            rec[ck] = rfc3339(sys_init[key] + t)
                if version == 5:
                    sr = num(hdr.get("cflow.samplerate", "0")) & 0x3FFF
                    if sr:
                        rec["sampling_interval"] = sr
                out.append({k: rec[k] for k in KEY_ORDER if k in rec})
    for r in out:
        print(json.dumps(r, separators=(", ", ": ")))


if __name__ == "__main__":
    main()
