"""IPFIX messages built by hand (RFC 7011), for the stream tests."""
import struct


def message(sets, seq=0, domain=1, export_time=1700000000):
    body = b"".join(sets)
    return struct.pack("!HHIII", 10, 16 + len(body), export_time, seq,
                       domain) + body


def template_set(tid, fields):
    """fields: [(ie_id, length), ...]"""
    rec = struct.pack("!HH", tid, len(fields)) + b"".join(
        struct.pack("!HH", i, n) for i, n in fields)
    return struct.pack("!HH", 2, 4 + len(rec)) + rec


def data_set(tid, records):
    body = b"".join(records)
    return struct.pack("!HH", tid, 4 + len(body)) + body
