#!/usr/bin/env python3
"""[enrich] end to end: test databases written by mkmmdb.pl (Debian's
MaxMind::DB::Writer; IPv4 and IPv6, nested networks, a non-ASCII name and
hostile ones), the real exporters' captures replayed through netflowd
(--read), and every data record's AS number, AS name and country compared
with what mmdblookup, an independent reader, says for its addresses; the
lines stay strict JSON. Also the interfaces CSV, and bad databases under
-n (clear error with file:line and path, exit 1).
Exits 77 without mmdblookup or the Perl writer."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import mmdbtest  # noqa: E402
import nftest  # noqa: E402
import strictjson  # noqa: E402

NETFLOWD = os.path.abspath(sys.argv[1])
GOLDEN = os.path.join(HERE, "..", "golden")
CAPTURES = ["softflowd-v5", "softflowd-v9", "softflowd-ipfix",
            "softflowd-ipfix-v6", "pmacct-v9", "pmacct-ipfix", "fprobe-v5",
            "pmacct-sflow"]
check = nftest.Check("enrich")

# nested on purpose: 10/8 inside 0/1, 10.1/16 inside 10/8, 2001:db8:1::/48
# inside 2001:db8::/32; 192.168/16 has no AS name; fd00::/8 nothing at all
NETWORKS = [
    {"network": "0.0.0.0/1", "asn": 64500,
     "as_name": "Quote \"and\" back\\slash\u0001\ttab", "country": "DE"},
    {"network": "10.0.0.0/8", "asn": 64501, "as_name": "Zürich Ünet ✓",
     "country": "CH"},
    {"network": "10.1.0.0/16", "asn": 64502,
     "as_name": {"bytes_hex": "41ff42c3"}, "country": "FR"},
    {"network": "10.3.0.0/16", "asn": 64505, "as_name": "</script>\u007f",
     "country": "IT"},
    {"network": "192.168.0.0/16", "asn": 64506, "country": "NL"},
    {"network": "128.0.0.0/1", "asn": 64503, "as_name": "High Half",
     "country": "US"},
    {"network": "2001:db8::/32", "asn": 64504, "as_name": "Doc V6",
     "country": "JP"},
    {"network": "2001:db8:1::/48", "asn": 64507, "as_name": "Nested V6",
     "country": "SE"},
]


mkmmdb = mmdbtest.mkmmdb


_mmdb = {}


def mmdblookup(db, addr, *path):
    """The value mmdblookup prints (int, bytes) or None."""
    key = (db, addr, path)
    if key in _mmdb:
        return _mmdb[key]
    r = subprocess.run(["mmdblookup", "-f", db, "-i", addr] + list(path),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    val = None
    for line in r.stdout.splitlines():
        line = line.strip()
        if line.endswith(b"<utf8_string>"):
            s = line[:-len(b"<utf8_string>")].strip()
            val = s[1:-1]
        elif line.endswith(b"<uint32>"):
            val = int(line.split()[0])
    _mmdb[key] = val
    return val


def netflowd_read(conf, capture):
    r = subprocess.run([NETFLOWD, "-c", conf, "--stdout", "--read",
                        os.path.join(GOLDEN, capture + ".pcap")],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    check(r.returncode == 0, "%s: netflowd --read exit %d: %s" %
          (capture, r.returncode, r.stderr.decode(errors="replace")))
    try:
        return strictjson.lines(r.stdout, capture)
    except strictjson.StrictJSONError as e:
        check(False, "%s: not strict JSON: %s" % (capture, e))
        return []


def expect_name(raw):
    # netflowd replaces each invalid byte with U+FFFD
    return raw.decode("utf-8", errors="replace") if raw is not None else None


def golden(capture):
    with open(os.path.join(GOLDEN, capture + ".expected.jsonl")) as f:
        return [json.loads(line) for line in f]


def check_records(capture, recs, asn_db, cc_db, layout, as_source):
    name_path = ("as_name",) if layout == "ipinfo" else \
        ("autonomous_system_organization",)
    num_path = ("asn",) if layout == "ipinfo" else ("autonomous_system_number",)
    cc_path = ("country",) if layout == "ipinfo" else ("country", "iso_code")
    gold = [g for g in golden(capture) if g.get("type") is None]
    data = [r for r in recs if r.get("type") is None]
    check(len(data) == len(gold), "%s: %d data records, golden %d" %
          (capture, len(data), len(gold)))
    seen = 0
    for r in recs:
        if r.get("type") is not None:
            for k in ("src_as_name", "dst_as_name", "src_country",
                      "dst_country"):
                check(k not in r, "%s: %s on an options record" %
                      (capture, k))
            continue
        i = data.index(r)
        exported = gold[i] if i < len(gold) else {}
        for side in ("src", "dst"):
            addr = r.get(side + "_addr")
            if addr is None:
                continue
            seen += 1
            num = mmdblookup(asn_db, addr, *num_path)
            if isinstance(num, bytes):  # IPinfo's "AS64500"
                num = int(num[2:])
            name = expect_name(mmdblookup(asn_db, addr, *name_path))
            cc = mmdblookup(cc_db, addr, *cc_path)
            cc = cc.decode() if cc is not None else None
            ex = exported.get(side + "_as", 0)
            if as_source == "database" and num is not None:
                want = num
            elif ex:
                want = ex
            else:
                want = num
            got = r.get(side + "_as")
            check(got == want or (want is None and got in (None, 0)),
                  "%s #%d %s_as %r, want %r (%s)" % (capture, i, side, got,
                                                    want, addr))
            want_name = name if got is not None and got == num else None
            check(r.get(side + "_as_name") == want_name,
                  "%s #%d %s_as_name %r, mmdblookup %r (%s)" %
                  (capture, i, side, r.get(side + "_as_name"), want_name,
                   addr))
            check(r.get(side + "_country") == cc,
                  "%s #%d %s_country %r, mmdblookup %r (%s)" %
                  (capture, i, side, r.get(side + "_country"), cc, addr))
    # the core keys first, in their order, the new ones after all others
    for r in recs:
        keys = list(r)
        new = [k for k in keys if k in ("src_as_name", "dst_as_name",
                                         "src_country", "dst_country")]
        if new:
            check(keys[-len(new):] == new, "%s: enrichment keys not last: %s"
                  % (capture, keys))
    return seen


def write_conf(d, name, body):
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write("[collector]\nlisten = 127.0.0.1:9\n[output]\ndirectory = "
                "%s\n[enrich]\n%s" % (os.path.join(d, "out"), body))
    return path


def replay_all(d, asn_db, cc_db, layout, as_source):
    body = "asn_database = %s\n" % asn_db
    if cc_db != asn_db:
        body += "country_database = %s\n" % cc_db
    body += "as_source = %s\n" % as_source
    conf = write_conf(d, "%s-%s.conf" % (layout, as_source), body)
    seen = 0
    for cap in CAPTURES:
        seen += check_records(cap, netflowd_read(conf, cap), asn_db, cc_db,
                              layout, as_source)
    check(seen > 100, "%s: %d addresses compared" % (layout, seen))


def interfaces(d, asn_db):
    # learn (exporter, in_if) pairs from one run, name half of them
    conf = write_conf(d, "plain.conf", "asn_database = %s\n" % asn_db)
    recs = [r for r in netflowd_read(conf, "softflowd-v5")
            if r.get("type") is None and "in_if" in r]
    pairs = sorted({(r["exporter"], r["in_if"]) for r in recs} |
                   {(r["exporter"], r["out_if"]) for r in recs
                    if "out_if" in r})
    csv = os.path.join(d, "interfaces.csv")
    with open(csv, "w") as f:
        f.write("exporter,ifIndex,name,description,speed\n# a comment\n")
        for i, (exp, idx) in enumerate(pairs):
            f.write('%s,%d,"eth%d ""up\\link""",uplink %d,%d\n' %
                    (exp, idx, i, i, 10**9 * (i + 1)))
    names = {p: ('eth%d "up\\link"' % i, 10**9 * (i + 1))
             for i, p in enumerate(pairs)}
    conf = write_conf(d, "ifs.conf", "interfaces = %s\n" % csv)
    got = netflowd_read(conf, "softflowd-v5")
    n = 0
    for r in got:
        if r.get("type") is not None:
            continue
        for side in ("in", "out"):
            if side + "_if" not in r:
                continue
            want = names.get((r["exporter"], r[side + "_if"]))
            check(r.get(side + "_if_name") == want[0],
                  "%s_if_name %r, want %r" % (side, r.get(side + "_if_name"),
                                              want[0]))
            check(r.get(side + "_if_speed") == want[1], "%s_if_speed" % side)
            n += 1
    check(n > 0, "interface names compared: %d" % n)
    # names from options templates win over the file's
    plain = netflowd_read(write_conf(d, "plain9.conf", "asn_database = %s\n"
                                     % asn_db), "softflowd-v9")
    with open(csv, "a") as f:
        for r in plain:
            if r.get("type") is None and "in_if" in r and \
                    (r["exporter"], r["in_if"]) not in names:
                f.write("%s,%d,csvname\n" % (r["exporter"], r["in_if"]))
                break
    withcsv = netflowd_read(conf, "softflowd-v9")
    kept = 0
    for a, b in zip(plain, withcsv):
        if "in_if_name" in a:
            kept += 1
            check(b.get("in_if_name") == a["in_if_name"],
                  "options name kept: %r" % b.get("in_if_name"))
    check(kept > 0, "records with names from options templates: %d" % kept)


def bad_databases(d, good):
    with open(good, "rb") as f:
        data = f.read()
    cases = {}
    cases["empty"] = os.path.join(d, "empty.mmdb")
    open(cases["empty"], "wb").close()
    cases["truncated"] = os.path.join(d, "truncated.mmdb")
    with open(cases["truncated"], "wb") as f:
        f.write(data[:len(data) // 2])
    cases["garbage"] = os.path.join(d, "garbage.mmdb")
    with open(cases["garbage"], "wb") as f:
        f.write(b"this is not a MaxMind database\n" * 100)
    cases["missing"] = os.path.join(d, "missing.mmdb")
    cases["directory"] = os.path.join(d, "a-directory.mmdb")
    os.mkdir(cases["directory"])
    if os.geteuid() != 0:
        cases["unreadable"] = os.path.join(d, "unreadable.mmdb")
        shutil.copy(good, cases["unreadable"])
        os.chmod(cases["unreadable"], 0)
    for what, path in cases.items():
        for key in ("asn_database", "country_database"):
            conf = write_conf(d, "bad.conf", "%s = %s\n" % (key, path))
            r = subprocess.run([NETFLOWD, "-n", "-c", conf],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=20)
            err = r.stderr.decode(errors="replace")
            check(r.returncode == 1, "-n with %s %s: exit %d" %
                  (what, key, r.returncode))
            check("%s:6: %s: %s: " % (conf, key, path) in err,
                  "-n with %s %s: message %r" % (what, key, err))
    # a good one passes
    conf = write_conf(d, "good.conf", "asn_database = %s\n" % good)
    r = subprocess.run([NETFLOWD, "-n", "-c", conf], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=20)
    check(r.returncode == 0, "-n with a good database: %s" % r.stderr)
    # and a bad interfaces file names its line
    csv = os.path.join(d, "bad.csv")
    with open(csv, "w") as f:
        f.write("192.0.2.1,1,eth0\n192.0.2.1,x,eth1\n")
    conf = write_conf(d, "badcsv.conf", "interfaces = %s\n" % csv)
    r = subprocess.run([NETFLOWD, "-n", "-c", conf], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=20)
    check(r.returncode == 1 and b"line 2: bad ifIndex" in r.stderr,
          "-n with a bad CSV: %r" % r.stderr)


def main():
    mmdbtest.skip_unless_ready(sys.argv[2:3] != ["nomaxminddb"])
    d = tempfile.mkdtemp(prefix="netflowd-enrich-")
    try:
        asn = os.path.join(d, "asn.mmdb")
        cc = os.path.join(d, "country.mmdb")
        ipinfo = os.path.join(d, "ipinfo.mmdb")
        mkmmdb("geolite2-asn", asn, NETWORKS)
        mkmmdb("geolite2-country", cc, NETWORKS)
        mkmmdb("ipinfo", ipinfo, NETWORKS)
        # the writer and the independent reader agree with the list
        check(mmdblookup(asn, "10.1.2.3", "autonomous_system_number") ==
              64502, "mmdblookup nested network")
        check(mmdblookup(asn, "2001:db8:1::5", "autonomous_system_number")
              == 64507, "mmdblookup nested IPv6 network")
        for src in ("exporter-then-database", "database"):
            replay_all(d, asn, cc, "geolite2", src)
        replay_all(d, ipinfo, ipinfo, "ipinfo", "exporter-then-database")
        interfaces(d, asn)
        bad_databases(d, asn)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    check.done()


main()
