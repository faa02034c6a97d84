#!/usr/bin/env python3
"""Seed corpora for the fuzz targets from the parser's hex vectors and,
when present, the UDP payloads and frames of tests/golden/*.pcap (sFlow
payloads, less their version word, for fuzz-sflow). Writes
tests/fuzz/seeds/<target>/ (then minimised into corpus/ with -merge=1)."""
import glob
import hashlib
import os
import struct
import sys

root = os.path.dirname(os.path.abspath(__file__))
top = os.path.dirname(os.path.dirname(root))
out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "seeds")


def put(target, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def pcap_frames(path):
    b = open(path, "rb").read()
    magic = struct.unpack("<I", b[:4])[0]
    e = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    linktype = struct.unpack(e + "I", b[20:24])[0]
    off = 24
    while off + 16 <= len(b):
        _, _, caplen, _ = struct.unpack(e + "IIII", b[off:off + 16])
        off += 16
        yield linktype, b[off:off + caplen]
        off += caplen


def udp_payload(frame):
    et = struct.unpack("!H", frame[12:14])[0]
    if et == 0x0800:
        ihl = (frame[14] & 15) * 4
        return frame[14 + ihl + 8:]
    if et == 0x86DD:
        return frame[14 + 40 + 8:]
    return None


vectors = []
for h in sorted(glob.glob(os.path.join(top, "tests/parser/vectors/*.hex"))):
    vectors.append(bytes.fromhex("".join(open(h).read().split())))
payloads = []
for pc in sorted(glob.glob(os.path.join(top, "tests/golden/*.pcap"))):
    for i, (lt, fr) in enumerate(pcap_frames(pc)):
        if i < 40:
            put("frame", bytes([{1: 1, 101: 2, 113: 4}.get(lt, 1)]) + fr)
        p = udp_payload(fr) if lt == 1 else None
        if p and p[:2] in (b"\x00\x01", b"\x00\x05", b"\x00\x07", b"\x00\x09", b"\x00\x0a"):
            payloads.append(p)
        elif p and p[:4] == b"\x00\x00\x00\x05":
            # fuzz-sflow's input is what follows the version word; the
            # hand-built cases come from `test-parser-sflow --seeds DIR`
            put("sflow", p[4:])
for v in vectors + payloads[:200]:
    put("feed", v)


def seq(dgs):
    return b"".join(struct.pack("!HB", len(x), i % 4) + x for i, x in enumerate(dgs))


by_name = {os.path.basename(h)[:-4]: v for h, v in
           zip(sorted(glob.glob(os.path.join(top, "tests/parser/vectors/*.hex"))), vectors)}
put("feed-seq", seq([by_name["packets_v9_0"], by_name["packet_v9_template"], by_name["packets_v9_1"]]))
put("feed-seq", seq([by_name["packet_ipfix"], by_name["packet_ipfix_template"], by_name["packet_ipfix"],
                     by_name["packet_ipfix_padding"], by_name["packet_ipfix_ether"]]))
put("feed-seq", seq([by_name["packet_v5"], by_name["packet_v1"], by_name["packet_v9_template_mixed"]]))
for i in range(0, len(payloads), 8):
    put("feed-seq", seq(payloads[i:i + 8]))


# fuzz-stream: two bytes (buffer bound selector, read size - 1), then a
# TCP stream: the golden IPFIX messages back to back, read whole, byte by
# byte and 7 at a time, and the framing errors of RFC 7011 10.4.2.2
ipfix = [p for p in payloads if p[:2] == b"\x00\x0a"]
if ipfix:
    stream = b"".join(ipfix[:8])
    for step in (255, 0, 6):
        put("stream", bytes([255, step]) + stream)
    put("stream", bytes([255, 3]) + ipfix[0] + bytes.fromhex("000a0000") + bytes(12))
    put("stream", bytes([1, 10]) + ipfix[0])
    put("stream", bytes([255, 50]) + ipfix[0] + b"GET / HTTP/1.0\r\n\r\n")
put("stream", bytes([255, 3]) + bytes.fromhex("000a000f") + bytes(12))
put("stream", bytes([255, 200]) + bytes.fromhex("000affff") + bytes(300))
put("stream", bytes([255, 50]) + bytes.fromhex("0009001c") + bytes(24))
