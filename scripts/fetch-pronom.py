#!/usr/bin/env python3
"""Fetch the PRONOM (DROID) signature files dangan embeds, from the PyPI wheel of opf-fido.

The National Archives publishes the DROID binary signature file and the DROID container signature file under
the Open Government Licence v3.0. opf-fido ships both in fido/conf/; this script downloads that wheel with
pip (the ordinary client), checks the SHA-256 of the two files against the values below, and writes:

  profiles/pronom/DROID_SignatureFile-v<N>.xml.gz   the binary signature file, with the <Shift>/<DefaultShift>
                                                     Boyer-Moore hints removed (dangan builds its own search)
                                                     and the white space between elements collapsed, gzip'd
                                                     (mtime 0, so the output is reproducible)
  profiles/pronom/container-signature-<date>.xml     the container signature file, unchanged

Newer releases (checked 2026-12-01): opf-fido 1.6.1 is the newest opf-fido on PyPI and carries v109 and the
container file of 2020-01-21; cfw-fido 1.6.0rc3 carries v104; pygfried 2.2.0 (Siegfried 1.11.9) embeds
PRONOM v125 but only in Siegfried's compiled binary form, not as DROID XML. Pass a newer DROID file to
`dangan inspect --signatures FILE` to use it without rebuilding.

Usage: scripts/fetch-pronom.py [--check]   (--check: verify the committed files are what this script makes)
"""

import gzip
import hashlib
import io
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

FIDO_VERSION = "1.6.1"
BINARY = ("fido/conf/DROID_SignatureFile-v109.xml",
          "2dfa8f13d035b4e6731181de3f7b48129f7c66fcae8a21742e265cbb6386d046")
CONTAINER = ("fido/conf/container-signature-20200121.xml",
             "3a51da3fcb46f3d9510ac6864b3750bee3946ade687c7e4bd1a0c36895d37452")
OUT = Path(__file__).resolve().parent.parent / "profiles" / "pronom"


def minify(xml: str) -> str:
    xml = re.sub(r'\s*<Shift Byte="[0-9A-Fa-f]+">-?\d+</Shift>', "", xml)
    xml = re.sub(r"\s*<DefaultShift>-?\d+</DefaultShift>", "", xml)
    xml = re.sub(r">\s+<", "><", xml)
    return re.sub(r"\s+", " ", xml)


def main() -> int:
    check = "--check" in sys.argv[1:]
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check",
                        "--no-deps", f"opf-fido=={FIDO_VERSION}", "-d", tmp], check=True)
        wheel = next(Path(tmp).glob("opf_fido-*.whl"))
        with zipfile.ZipFile(wheel) as z:
            files = {}
            for member, sha in (BINARY, CONTAINER):
                data = z.read(member)
                got = hashlib.sha256(data).hexdigest()
                if got != sha:
                    print(f"{member}: SHA-256 {got}, expected {sha}", file=sys.stderr)
                    return 1
                files[member] = data
    binary = minify(files[BINARY[0]].decode("utf-8")).encode("utf-8")
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as g:
        g.write(binary)
    outputs = {
        OUT / (Path(BINARY[0]).name + ".gz"): buf.getvalue(),
        OUT / Path(CONTAINER[0]).name: files[CONTAINER[0]],
    }
    status = 0
    for path, data in outputs.items():
        if check:
            if not path.exists() or path.read_bytes() != data:
                print(f"{path} differs from what {Path(__file__).name} makes", file=sys.stderr)
                status = 1
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            print(f"wrote {path} ({len(data)} bytes)")
    return status


if __name__ == "__main__":
    sys.exit(main())
