"""Test databases for [enrich] and --asn-db/--country-db: written by
mkmmdb.pl (Debian's MaxMind::DB::Writer), read back by mmdblookup."""
import json
import os
import shutil
import subprocess
import sys

MKMMDB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mkmmdb.pl")


def missing():
    """Why test databases cannot be made and checked here, or None."""
    if shutil.which("mmdblookup") is None:
        return "no mmdblookup (mmdb-bin)"
    if shutil.which("perl") is None or subprocess.run(
            ["perl", "-MMaxMind::DB::Writer::Tree", "-e", "1"],
            capture_output=True).returncode != 0:
        return "no MaxMind::DB::Writer (libmaxmind-db-writer-perl)"
    return None


def mkmmdb(layout, path, networks):
    """A database at path in layout (see mkmmdb.pl) holding networks."""
    subprocess.run(["perl", MKMMDB, layout, path],
                   input=json.dumps(networks).encode(), check=True)


def skip_unless_ready(built_with_maxminddb):
    """Exits 77 (skipped) where netflowd has no libmaxminddb or the tools
    are missing."""
    why = missing() if built_with_maxminddb else "netflowd built without libmaxminddb"
    if why:
        print(why + ": skipped")
        sys.exit(77)
