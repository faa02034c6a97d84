#!/usr/bin/env python3
"""Write UDP payloads into a classic pcap (Ethernet/IPv4|IPv6/UDP frames).

Library use: write_pcap(path, [(payload_bytes, src, sport, dst, dport, ts_float), ...])
Command line: mkpcap.py OUT.pcap HEXFILE...  (one datagram per file; whitespace ignored;
all from 127.0.0.1:50000 to 127.0.0.1:2055, one second apart from 2024-05-01T12:00:00Z)
"""
import ipaddress
import struct
import sys


def _checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(payload, src, sport, dst, dport):
    s = ipaddress.ip_address(src)
    d = ipaddress.ip_address(dst)
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    if s.version == 4:
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                         s.packed, d.packed)
        ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
        ethertype = 0x0800
    else:
        ip = struct.pack("!IHBB16s16s", 0x60000000, len(udp), 17, 64, s.packed, d.packed)
        ethertype = 0x86DD
    return b"\0" * 12 + struct.pack("!H", ethertype) + ip + udp


def write_pcap(path, datagrams):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        for payload, src, sport, dst, dport, ts in datagrams:
            fr = frame(payload, src, sport, dst, dport)
            sec = int(ts)
            usec = int(round((ts - sec) * 1e6))
            f.write(struct.pack("<IIII", sec, usec, len(fr), len(fr)))
            f.write(fr)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    base = 1714564800.0
    dgs = []
    for i, name in enumerate(sys.argv[2:]):
        with open(name) as fh:
            payload = bytes.fromhex("".join(fh.read().split()))
        dgs.append((payload, "127.0.0.1", 50000, "127.0.0.1", 2055, base + i))
    write_pcap(sys.argv[1], dgs)


if __name__ == "__main__":
    main()
