#!/usr/bin/env bash
# Benchmark (issue 15): DA/T 48-2009 EEP writing — Base64 (RFC 2045, 76-character lines) streamed into one
# <档号>.eep.xml per item.
#   dangan pack --format eep --no-normalize --json: the "package" stage is the EEP writer alone (intake, scan
#   and QC are timed apart by dangan), so its output bytes / its seconds is the EEP write rate. Unsigned and
#   signed (SM2/SM3, key from `openssl genpkey -algorithm SM2`).
#   peer: coreutils `base64` (same 76-character lines) over the same files in the same run, one process per
#   file, run as one job per core (xargs -P) — the way a script would do it on this machine.
#   memory: one item holding a BIG_MB text file (default 1 GiB), peak RSS of the whole pack by /usr/bin/time -v
#   (target ≤ 100 MiB: the writer reads 57 KiB chunks, never the whole file).
# Prints MB/s of Base64 output, the ratio (target ≥ 1×) and peak RSS. Not a test; the machine may be shared.
#   ITEMS=200 PAGES=5 scripts/bench/eep.sh          (the issue's 1,000 A4 pages; the default is smaller)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
ITEMS="${ITEMS:-20}"
PAGES="${PAGES:-5}"
BIG_MB="${BIG_MB:-1024}"
"$ROOT/scripts/install-tools.sh" >/dev/null
# shellcheck source=/dev/null
. "$ROOT/.tools/env.sh"
cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml"
DANGAN="$ROOT/target/release/dangan"
W="$(mktemp -d /tmp/dangan-bench-eep.XXXXXX)"
trap 'rm -rf "$W"' EXIT
B="$W/batch"; mkdir -p "$B"

echo "generating $((ITEMS * PAGES)) pages (2480x3508, 300 dpi, JPEG q90)…" >&2
draw=()
for y in $(seq 300 60 3200); do
  draw+=(-draw "rectangle 250,$y,$((2200 - (y % 700))),$((y + 18))")
done
"$IMAGEMAGICK" -size 2480x3508 xc:white -fill black "${draw[@]}" -attenuate 0.3 +noise Gaussian \
  -type TrueColor -density 300 -units PixelsPerInch -quality 90 "$W/base.jpg"
printf '档号,题名,分类号,页数,密级\n' > "$B/目录.csv"
export IMAGEMAGICK W B
for i in $(seq 1 "$ITEMS"); do
  n=$(printf %04d "$i")
  printf 'J001-WS·2020-Y-BGS-%s,测试件 %s,X-1.1.6,%s,公开\n' "$n" "$i" "$PAGES" >> "$B/目录.csv"
  for p in $(seq 1 "$PAGES"); do echo "$i $p"; done
done | xargs -P "$(nproc)" -L 1 sh -c '
  i=$1; p=$2
  "$IMAGEMAGICK" "$W/base.jpg" -fill black -draw "rectangle $((100 + i)),$((100 + p * 7)) $((180 + i)),$((120 + p * 7))" \
    -density 300 -units PixelsPerInch -quality 90 "$B/J001-WS_2020-Y-BGS-$(printf %04d "$i")-$(printf %04d "$p").jpg"' _
N=$((ITEMS * PAGES))
in_bytes=$(cat "$B"/*.jpg | wc -c)

now() { date +%s.%N; }
stage() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(dict(d["stats"]["stage_seconds"])["package"])' "$1"; }

echo "dangan pack --format eep (unsigned)…" >&2
"$DANGAN" pack "$B" --out "$W/eep" --format eep --no-normalize --id bench --created 2026-01-01T00:00:00Z \
  --json >"$W/eep.json"
eep_s=$(stage "$W/eep.json")
eep_b64=$(python3 - "$W/eep" <<'EOF'
import os, re, sys
n = 0
for f in os.listdir(sys.argv[1]):
    if f.endswith('.eep.xml'):
        t = open(os.path.join(sys.argv[1], f), 'rb').read()
        n += sum(len(m) for m in re.findall(rb'<\xe7\xbc\x96\xe7\xa0\x81\xe6\x95\xb0\xe6\x8d\xae [^>]*>(.*?)</', t, re.S))
print(n)
EOF
)
eep_bytes=$(du -cb "$W"/eep/*.eep.xml | tail -1 | cut -f1)
rm -rf "$W/eep"

echo "dangan pack --format eep --sign-key (SM2/SM3)…" >&2
openssl genpkey -algorithm SM2 -out "$W/sm2.pem"
"$DANGAN" pack "$B" --out "$W/eep-signed" --format eep --no-normalize --id bench --created 2026-01-01T00:00:00Z \
  --sign-key "$W/sm2.pem" --json >"$W/signed.json"
signed_s=$(stage "$W/signed.json")
rm -rf "$W/eep-signed"

echo "peer: coreutils base64 over the same files (xargs -P $(nproc))…" >&2
mkdir -p "$W/b64"
t0=$(now)
ls "$B"/*.jpg | xargs -P "$(nproc)" -I{} sh -c 'base64 "$1" > "$2/$(basename "$1").b64"' _ {} "$W/b64"
t1=$(now)
peer_bytes=$(du -cb "$W"/b64/*.b64 | tail -1 | cut -f1)
rm -rf "$W/b64"

echo "memory: one item with a ${BIG_MB} MiB text file…" >&2
M="$W/big"; mkdir -p "$M"
printf '档号,题名,分类号,密级\nJ001-WS·2020-Y-BGS-0001,大文件,X-1.1.6,公开\n' > "$M/目录.csv"
# `yes` ends on SIGPIPE when head has enough: not a failure (pipefail).
{ yes '电子文件封装包基准测试文本行 0123456789 abcdefghijklmnopqrstuvwxyz' || true; } | head -c "$((BIG_MB << 20))" \
  > "$M/J001-WS_2020-Y-BGS-0001.txt"
/usr/bin/time -v "$DANGAN" pack "$M" --out "$W/big-out" --format eep --no-normalize --id big \
  --created 2026-01-01T00:00:00Z --json >"$W/big.json" 2>"$W/big.time"
big_rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$W/big.time")
big_s=$(stage "$W/big.json")
big_eep=$(du -b "$W"/big-out/*.eep.xml | cut -f1)

python3 - "$N" "$in_bytes" "$eep_b64" "$eep_bytes" "$eep_s" "$signed_s" "$peer_bytes" "$t0" "$t1" \
  "$BIG_MB" "$big_rss" "$big_s" "$big_eep" <<'EOF'
import sys
n, inb, b64, eepb, eep_s, signed_s, peerb, t0, t1, big_mb, rss, big_s, big_eep = sys.argv[1:]
n, inb, b64, eepb, peerb, rss, big_eep = map(int, (n, inb, b64, eepb, peerb, rss, big_eep))
eep_s, signed_s, big_s, peer_s = float(eep_s), float(signed_s), float(big_s), float(t1) - float(t0)
mb = 1e6
print(f"pages: {n} ({inb / mb:.1f} MB of JPEG); EEP files {eepb / mb:.1f} MB, Base64 in them {b64 / mb:.1f} MB")
print(f"dangan EEP writer (unsigned): {eep_s:.2f} s, {b64 / mb / eep_s:.0f} MB/s of Base64 output")
print(f"dangan EEP writer (SM2/SM3):  {signed_s:.2f} s, {b64 / mb / signed_s:.0f} MB/s")
print(f"coreutils base64 (xargs -P):  {peer_s:.2f} s, {peerb / mb / peer_s:.0f} MB/s")
print(f"ratio unsigned {b64 / eep_s / (peerb / peer_s):.2f}x, signed {b64 / signed_s / (peerb / peer_s):.2f}x (target >= 1x)")
print(f"{big_mb} MiB item: EEP {big_eep / mb:.0f} MB in {big_s:.1f} s ({big_eep / mb / big_s:.0f} MB/s), "
      f"peak RSS of the whole pack {rss / 1024:.1f} MiB (target <= 100 MiB)")
EOF
