#!/usr/bin/env python3
"""kill -9 while writing, then restart (issue 25 item 3): every published
file parses completely (gzip -t, zstd -t, lz4 -t; every line strict JSON),
for plain, gzip, zstd and lz4 files.

Per codec, on the real daemon:
- a sender keeps traffic coming while netflowd writes its slot's temporary
  file; once the file holds data, a snapshot of it is taken and netflowd
  gets SIGKILL, whatever it is doing at that moment. After the restart the
  published file must hold at least every whole frame (line) of the
  snapshot, byte for byte, and nothing partial.
- beside it, leftover temporary files cut deterministically: the crashed
  file cut one byte short, cut in half, followed by half of itself (a
  partial frame after whole ones), and an empty one.
(A crash only ever cuts a file's end, so each is a prefix of a stream.) The whole frames
  before each cut are found here by walking the frame headers in Python,
  independently of netflowd's recovery, and must be exactly what is
  published; the empty file and a file with nothing whole are removed.
The restart's log and its stats lines count what was cut and removed.
"""
import calendar
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
import nfgen  # noqa: E402
import nftest  # noqa: E402
import strictjson  # noqa: E402

NETFLOWD = os.path.abspath(sys.argv[1])
check = nftest.Check("crash_recovery")
FEATURES = os.environ.get("NETFLOWD_FEATURES", "zstd,lz4").split(",")

EXT = {"none": ".json", "gzip": ".json.gz", "zstd": ".json.zst",
       "lz4": ".json.lz4"}
TOOL = {"gzip": "gzip", "zstd": "zstd", "lz4": "lz4"}


# ---- whole frames, found from the formats' own headers ----

def gzip_ends(data):
    ends, at = [], 0
    while at < len(data):
        d = zlib.decompressobj(15 + 16)
        try:
            out = d.decompress(data[at:])
        except zlib.error:
            break
        if not d.eof or not out.endswith(b"\n"):
            break
        at = len(data) - len(d.unused_data)
        ends.append(at)
    return ends


def zstd_ends(data):
    """Frame ends by the zstd frame format (RFC 8878): header, blocks,
    the checksum the writer always adds."""
    ends, at = [], 0
    while at + 6 <= len(data):
        if data[at:at + 4] != b"\x28\xb5\x2f\xfd":
            break
        fhd = data[at + 4]
        did = (0, 1, 2, 4)[fhd & 3]
        single = (fhd >> 5) & 1
        fcs = (0 if not single else 1, 2, 4, 8)[fhd >> 6]
        p = at + 5 + (0 if single else 1) + did + fcs
        last = False
        while not last:
            if p + 3 > len(data):
                return ends
            h = int.from_bytes(data[p:p + 3], "little")
            last, btype, size = h & 1, (h >> 1) & 3, h >> 3
            p += 3 + (1 if btype == 1 else size)
        p += 4 if (fhd >> 2) & 1 else 0
        if p > len(data):
            break
        at = p
        ends.append(at)
    return ends


def lz4_ends(data):
    """Frame ends by the LZ4 frame format: magic, FLG/BD (+ content size,
    dictionary id), header checksum, blocks, end mark, content checksum."""
    ends, at = [], 0
    while at + 7 <= len(data):
        if data[at:at + 4] != b"\x04\x22\x4d\x18":
            break
        flg = data[at + 4]
        p = at + 6 + (8 if flg & 0x08 else 0) + (4 if flg & 0x01 else 0) + 1
        block_sum = 4 if flg & 0x10 else 0
        while True:
            if p + 4 > len(data):
                return ends
            size = int.from_bytes(data[p:p + 4], "little")
            p += 4
            if size == 0:
                break
            p += (size & 0x7fffffff) + block_sum
        p += 4 if flg & 0x04 else 0
        if p > len(data):
            break
        at = p
        ends.append(at)
    return ends


def whole(codec, data):
    """How many leading bytes of data are whole lines / frames."""
    if codec == "none":
        return data.rfind(b"\n") + 1
    ends = {"gzip": gzip_ends, "zstd": zstd_ends, "lz4": lz4_ends}[codec](data)
    return ends[-1] if ends else 0


def decoded(codec, path):
    """The file's lines after the codec's own tool has tested it."""
    if codec == "none":
        with open(path, "rb") as f:
            return f.read()
    t = subprocess.run([TOOL[codec], "-t", "-q", path], capture_output=True)
    check(t.returncode == 0, "%s -t %s: %s" % (TOOL[codec], path, t.stderr))
    r = subprocess.run([TOOL[codec], "-dc", path], capture_output=True)
    check(r.returncode == 0, "%s -dc %s" % (TOOL[codec], path))
    return r.stdout


def config(codec, port):
    return ("[collector]\nlisten = 127.0.0.1:%d\n[output]\ndirectory = @OUT@\n"
            "rotate = 3600\ncompress = %s\n" % (port, codec))


def sender(port, stop):
    i = 0
    while not stop.is_set():
        nftest.send([nfgen.v5([nfgen.flow(i * 30 + k) for k in range(30)])],
                    port)
        i += 1
        if i % 50 == 0:
            time.sleep(0.005)


def temp_files(d):
    return [f for f in d.files() if f.startswith(".") and f.endswith(".tmp")]


def crash(codec, port):
    """Runs netflowd until its temporary file has data, takes a snapshot
    of it and kills it; returns (daemon, temporary name, snapshot)."""
    d = nftest.Daemon(NETFLOWD, config(codec, port))
    d.start()
    stop = threading.Event()
    t = threading.Thread(target=sender, args=(port, stop))
    t.start()
    snap, name = b"", None
    try:
        def has_data():
            nonlocal name
            tmp = temp_files(d)
            if not tmp:
                return False
            name = tmp[0]
            return os.path.getsize(os.path.join(d.outdir, name)) > 0 and \
                whole(codec, open(os.path.join(d.outdir, name), "rb").read()) > 0
        check(nftest.wait_for(has_data, timeout=20), "%s: the temporary file "
              "gets whole frames while writing" % codec)
        if name is not None:
            with open(os.path.join(d.outdir, name), "rb") as f:
                snap = f.read()
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait()
    finally:
        stop.set()
        t.join()
    d.stderr.close()
    d.notify.close()
    return d, name, snap


def craft(d, codec, name, data, slot_offset):
    """Leftovers cut on purpose, under slot names of their own: name ->
    (bytes written, bytes that must be published)."""
    made = {}
    t0 = calendar.timegm(time.strptime(name[1:17], "%Y%m%dT%H%M%SZ"))
    w = whole(codec, data)
    cuts = [data[:len(data) - 1], data[:len(data) // 2],
            data[:w] + data[:len(data) // 2], b""]
    for i, blob in enumerate(cuts):
        slot = t0 - 3600 * (slot_offset + i + 1)
        tmp = "." + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(slot)) + \
            EXT[codec] + ".tmp"
        with open(os.path.join(d.outdir, tmp), "wb") as f:
            f.write(blob)
        keep = whole(codec, blob)
        if i == 2:
            # the whole frames of data, then half of it again: what is
            # whole in that half is whole in the file too
            keep = w + whole(codec, data[:len(data) // 2])
        made[tmp] = (blob, keep)
    return made


def run(codec):
    port = nftest.free_port()
    d, name, snap = crash(codec, port)
    try:
        if not check(name is not None and snap, "%s: a snapshot" % codec):
            return
        with open(os.path.join(d.outdir, name), "rb") as f:
            at_kill = f.read()
        check(at_kill[:len(snap)] == snap, "%s: the file only grew" % codec)
        made = craft(d, codec, name, at_kill, 0)
        crashed_keep = whole(codec, at_kill)
        check(crashed_keep >= whole(codec, snap),
              "%s: what was whole before the kill is whole after it" % codec)
        made[name] = (at_kill, crashed_keep)
        cut_expected = sum(1 for b, k in made.values() if 0 < k < len(b))
        removed_expected = sum(1 for b, k in made.values() if k == 0)

        # restart on the same directory, no traffic, SIGTERM
        d.start()
        check(d.stop() == 0, "%s: restart exits 0" % codec)
        log = d.log()
        check(not temp_files(d), "%s: no temporary file left: %r" %
              (codec, d.files()))
        for tmp, (blob, keep) in made.items():
            # ".NAME.EXT.GEN.tmp" (the crashed run's) or ".NAME.EXT.tmp"
            pub = os.path.join(d.outdir, re.sub(r"(\.\d+)?\.tmp$", "", tmp[1:]))
            if keep == 0:
                check(not os.path.exists(pub), "%s: %s (%d bytes, nothing "
                      "whole) removed" % (codec, tmp, len(blob)))
                continue
            if not check(os.path.exists(pub), "%s: %s published" % (codec, tmp)):
                continue
            with open(pub, "rb") as f:
                got = f.read()
            check(got == blob[:keep], "%s: %s cut %d -> %d bytes, want the "
                  "first %d" % (codec, tmp, len(blob), len(got), keep))
        # every published file, the crashed run's and the crafted ones
        lines = 0
        for f in d.files():
            if f.startswith("."):
                continue
            try:
                lines += len(strictjson.lines(decoded(codec, os.path.join(
                    d.outdir, f)), f))
            except strictjson.StrictJSONError as e:
                check(False, "%s: %s" % (codec, e))
        check(lines > 0, "%s: lines recovered (%d)" % (codec, lines))
        m = re.search(r"recovery: (\d+) unfinished output files in .*: (\d+) "
                      r"published \((\d+) of them cut back.*\), (\d+) removed",
                      log)
        if check(m, "%s: recovery summary logged:\n%s" % (codec, log)):
            check(int(m.group(1)) == len(made), "%s: found %s of %d" %
                  (codec, m.group(1), len(made)))
            check(int(m.group(3)) == cut_expected, "%s: cut %s, want %d" %
                  (codec, m.group(3), cut_expected))
            check(int(m.group(4)) == removed_expected, "%s: removed %s, want %d"
                  % (codec, m.group(4), removed_expected))
        check(re.search(r"stats: output: .*recovery: %d files published, %d "
                        r"cut back, %d removed" % (len(made) - removed_expected,
                                                   cut_expected,
                                                   removed_expected), log),
              "%s: the stats line counts the recovery" % codec)
        if cut_expected:
            check("OUTPUT_PATH" in log or d.outdir in log,
                  "%s: the cut files' paths are logged" % codec)
    finally:
        d.cleanup()


for codec in ("none", "gzip", "zstd", "lz4"):
    if codec in ("zstd", "lz4") and codec not in FEATURES:
        print("%s not built in: skipped" % codec, file=sys.stderr)
        continue
    if codec != "none" and shutil.which(TOOL[codec]) is None:
        print("no %s command: skipped" % TOOL[codec], file=sys.stderr)
        continue
    run(codec)
check.done()
