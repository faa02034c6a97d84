#!/usr/bin/env python3
"""An sFlow v5 capture for the offline benchmark: DATAGRAMS datagrams of 8
flow samples each, from 10 agents (192.0.2.1-10), as a switch sends them:
a 128-byte raw packet header (Ethernet, 802.1Q, IPv4 or 1 in 10 IPv6,
TCP/UDP) and an extended switch record per sample, sampling rate 1024,
sequence numbers in order. Every 50th datagram also has a counter sample
(generic + Ethernet counters). Python 3 standard library only.

Usage: make-sflow-pcap.py OUT.pcap [DATAGRAMS]   (default 125000: 1M samples)
"""
import random
import struct
import sys

SAMPLES = 8
rng = random.Random(1)


def u32(*v):
    return struct.pack(">%dI" % len(v), *v)


def element(fmt, body):
    body += b"\0" * (-len(body) % 4)
    return u32(fmt, len(body)) + body


def frame(i):
    """A 128-byte sampled header and the frame length it came from."""
    vlan = struct.pack(">HHH", 0x8100, 100 + i % 50, 0)
    if i % 10 == 9:
        l3 = struct.pack(">IHBB", 6 << 28, 1400, 6, 64)
        l3 += bytes([0x20, 0x01, 0x0d, 0xb8] + [0] * 10 + [i >> 8 & 255, i & 255])
        l3 += bytes([0x20, 0x01, 0x0d, 0xb8] + [0] * 11 + [1])
        etype = 0x86DD
        proto = 6
    else:
        proto = 6 if i % 3 else 17
        l3 = struct.pack(">BBHHHBBH", 0x45, 0, 1400, i & 0xFFFF, 0x4000, 64, proto, 0)
        l3 += bytes([10, i >> 16 & 255, i >> 8 & 255, i & 255, 192, 168, 1, i % 200])
        etype = 0x0800
    if proto == 6:
        l4 = struct.pack(">HHIIBBHHH", 1024 + i % 60000, 443, i, 0, 0x50, 0x18, 512, 0, 0)
    else:
        l4 = struct.pack(">HHHH", 1024 + i % 60000, 53, 1380, 0)
    eth = bytes([0, 0x11, 0x22, 0x33, 0x44, 0x55, 0, 0x66, 0x77, 0x88, 0x99, i & 255])
    hdr = (eth + vlan[:4] + struct.pack(">H", etype) + l3 + l4)
    hdr = (hdr + b"\xab" * 128)[:128]
    return hdr, 1418


BODIES = []
for i in range(1024):
    hdr, flen = frame(rng.randrange(1 << 24))
    raw = element(1, u32(1, flen, 4, len(hdr)) + hdr)
    sw = element(1001, u32(100 + i % 50, 0, 200, 0))
    BODIES.append((i % 48 + 1, raw + sw))


def flow_sample(seq, ifindex, records):
    body = u32(seq, ifindex, 1024, seq * 1024, 0, ifindex, 49, 2) + records
    return element(1, body)


def counter_sample(seq, ifindex):
    generic = u32(ifindex, 6) + struct.pack(">Q", 10 ** 10) + u32(1, 3)
    generic += struct.pack(">Q", seq * 1500) + u32(*range(6))
    generic += struct.pack(">Q", seq * 1400) + u32(*range(6))
    return element(2, u32(seq, ifindex, 2) + element(1, generic) +
                   element(2, u32(*range(13))))


def pcap_record(ts, payload, src):
    udp = struct.pack(">HHHH", 50000, 6343, 8 + len(payload), 0) + payload
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     bytes([192, 0, 2, src]), bytes([127, 0, 0, 1])) + udp
    pkt = b"\0" * 12 + b"\x08\x00" + ip
    return struct.pack("<IIII", int(ts), int(ts % 1 * 1e6), len(pkt), len(pkt)) + pkt


def main():
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 125000
    dseq = [0] * 10
    sseq = {}
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for d in range(n):
            agent = d % 10
            dseq[agent] += 1
            samples = []
            for s in range(SAMPLES):
                ifindex, records = BODIES[(d * SAMPLES + s) % len(BODIES)]
                key = (agent, ifindex)
                sseq[key] = sseq.get(key, 0) + 1
                samples.append(flow_sample(sseq[key], ifindex, records))
            if d % 50 == 49:
                samples.append(counter_sample(d // 50, 1 + d % 48))
            dgram = u32(5, 1) + bytes([192, 0, 2, agent + 1])
            dgram += u32(0, dseq[agent], d * 10, len(samples)) + b"".join(samples)
            f.write(pcap_record(1714564800 + d / 100000, dgram, agent + 1))


if __name__ == "__main__":
    main()
