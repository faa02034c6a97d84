#!/usr/bin/env python3
"""Malformed datagrams are counted and logged (rate-limited); the daemon
keeps running and still decodes the next valid datagram."""
import os
import random
import re
import signal
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
import nfgen  # noqa: E402
import nftest  # noqa: E402

NETFLOWD = os.path.abspath(sys.argv[1])
check = nftest.Check("malformed")

good_v5 = nfgen.v5([nfgen.flow(i) for i in range(3)])
good_v9 = nfgen.v9([nfgen.flow(10)])
MALFORMED = {
    "empty": b"",
    "one byte": b"\x00",
    "v5 truncated header": good_v5[:20],
    "v5 count larger than datagram": struct.pack("!H", 5) + struct.pack("!H", 30) + good_v5[4:],
    "v5 count lies by one": good_v5[:2] + struct.pack("!H", 4) + good_v5[4:],
    "v9 truncated header": good_v9[:15],
    "v9 zero flowset length": nfgen.v9_header(1, 1, 1, 1, 0) + struct.pack("!HH", 0, 0) + b"\0" * 16,
    "v9 huge flowset length": nfgen.v9_header(1, 1, 1, 1, 0) + struct.pack("!HH", 300, 65535) + b"\1" * 40,
    "v9 template zero fields": nfgen.v9_header(1, 1, 1, 1, 0) + struct.pack("!HHHH", 0, 8, 300, 0),
    "v9 template truncated fields": nfgen.v9_header(1, 1, 1, 1, 0) + struct.pack("!HHHHHH", 0, 12, 301, 50, 8, 4),
    "v9 zero-length fields template": nfgen.v9_header(1, 1, 1, 1, 0) + nfgen.v9_template_set(302, [(8, 0), (12, 0)]) + nfgen.v9_data_set(302, [b"\1" * 8]),
    # held for its template, which never comes: expired at shutdown
    "v9 data for unknown template": nfgen.v9_header(1, 1, 1, 1, 77) + nfgen.v9_data_set(999, [b"\1" * 24]),
    "ipfix length larger than datagram": struct.pack("!HHIII", 10, 500, 1, 1, 1),
    "ipfix length below header": struct.pack("!HHIII", 10, 4, 1, 1, 1),
    "ipfix set length 2": struct.pack("!HHIII", 10, 24, 1, 1, 1) + struct.pack("!HH", 2, 2) + b"\0" * 4,
    "version 42": struct.pack("!H", 42) + b"\0" * 60,
}


def main():
    port = nftest.free_port()
    d = nftest.Daemon(NETFLOWD, None, args=["-p", str(port), "-o", "flows", "-r", "3600"])
    rnd = random.Random(1234)
    try:
        d.start()
        for name, dg in MALFORMED.items():
            nftest.send([dg], port)
            nftest.send([good_v5], port)
            check(d.alive(), "alive after %s" % name)
        randoms = [bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(1, 1500)))
                   for _ in range(500)]
        # random bytes that happen to start like a real version
        for v in (1, 5, 7, 9, 10):
            randoms += [struct.pack("!H", v) + r for r in randoms[:100]]
        nftest.send(randoms, port, pace=0.0002)
        nftest.send([good_v9], port)
        time.sleep(0.5)
        check(d.alive(), "alive after random bytes")
        d.signal(signal.SIGUSR1)
        time.sleep(0.3)
        check(d.stop() == 0, "exit 0")
        recs = d.records()
        v5 = [r for r in recs if r["version"] == 5 and r["exporter"] == "127.0.0.1"
              and r.get("src_addr", "").startswith("10.0.0.")
              and r.get("dst_port") == 443 and r.get("src_port") in (1024, 1025, 1026)]
        check(len(v5) == 3 * len(MALFORMED), "good v5 after each malformed one: %d of %d"
              % (len(v5), 3 * len(MALFORMED)))
        f10 = nfgen.flow(10)
        check(any(r["version"] == 9 and r.get("src_addr") == f10["src"] for r in recs),
              "valid v9 decoded after the random bytes")
        log = d.log()
        dropped = len(re.findall(r"dropped: ", log))
        check(1 <= dropped <= 15, "drop warnings rate-limited: %d lines" % dropped)
        for reason in ("short_datagram", "bad_version", "bad_length", "bad_set_length",
                       "bad_template", "held_expired"):
            check(re.search(r"stats: drop %s: \d+" % reason, log), "counted: %s" % reason)
    finally:
        d.cleanup()


main()
check.done()
