"""Build NetFlow v5 / v9 / IPFIX datagrams for tests (our own encoder; the
golden tests use captures from real exporters instead)."""
import ipaddress
import struct


def v5(flows, uptime=100000, secs=1714564800, nsecs=0, sequence=0,
       engine_type=0, engine_id=0, sampling=0):
    """flows: dicts with src, dst, sport, dport, proto, packets, bytes,
    first, last (uptime ms), optional tcp_flags, tos, nexthop, input,
    output, src_as, dst_as, src_mask, dst_mask."""
    out = struct.pack("!HHIIIIBBH", 5, len(flows), uptime, secs, nsecs, sequence,
                      engine_type, engine_id, sampling)
    for f in flows:
        out += struct.pack(
            "!4s4s4sHHIIIIHHBBBBHHBBH",
            ipaddress.IPv4Address(f["src"]).packed,
            ipaddress.IPv4Address(f["dst"]).packed,
            ipaddress.IPv4Address(f.get("nexthop", "0.0.0.0")).packed,
            f.get("input", 0), f.get("output", 0), f["packets"], f["bytes"],
            f["first"], f["last"], f["sport"], f["dport"], 0,
            f.get("tcp_flags", 0), f["proto"], f.get("tos", 0),
            f.get("src_as", 0), f.get("dst_as", 0), f.get("src_mask", 0),
            f.get("dst_mask", 0), 0)
    return out


# v9 template used by v9_flows(): IPv4 5-tuple, counters, uptime stamps
V9_FIELDS = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (1, 4), (2, 4),
             (22, 4), (21, 4), (6, 1)]


def v9_header(count, uptime, secs, sequence, source_id):
    return struct.pack("!HHIIII", 9, count, uptime, secs, sequence, source_id)


def v9_template_set(template_id, fields):
    body = struct.pack("!HH", template_id, len(fields))
    for ftype, flen in fields:
        body += struct.pack("!HH", ftype, flen)
    return struct.pack("!HH", 0, 4 + len(body)) + body


def v9_data_set(template_id, records, pad_to=4):
    body = b"".join(records)
    while (4 + len(body)) % pad_to:
        body += b"\0"
    return struct.pack("!HH", template_id, 4 + len(body)) + body


def v9_record(f):
    return struct.pack("!4s4sHHBIIIIB",
                       ipaddress.IPv4Address(f["src"]).packed,
                       ipaddress.IPv4Address(f["dst"]).packed,
                       f["sport"], f["dport"], f["proto"], f["bytes"],
                       f["packets"], f["first"], f["last"], f.get("tcp_flags", 0))


def v9(flows, template_id=256, with_template=True, uptime=100000,
       secs=1714564800, sequence=0, source_id=0):
    sets = b""
    count = 0
    if with_template:
        sets += v9_template_set(template_id, V9_FIELDS)
        count += 1
    if flows:
        sets += v9_data_set(template_id, [v9_record(f) for f in flows])
        count += len(flows)
    return v9_header(count, uptime, secs, sequence, source_id) + sets


def flow(i, base_uptime=100000):
    """A deterministic, distinct IPv4 TCP flow number i."""
    return {
        "src": "10.%d.%d.%d" % ((i >> 16) & 255, (i >> 8) & 255, i & 255),
        "dst": "192.0.2.%d" % (i % 250 + 1),
        "sport": 1024 + i % 60000, "dport": 443, "proto": 6,
        "packets": 1 + i % 100, "bytes": 64 * (1 + i % 100),
        "first": base_uptime - 5000, "last": base_uptime - 1000,
        "tcp_flags": 0x1b,
    }
