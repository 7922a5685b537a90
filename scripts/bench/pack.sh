#!/usr/bin/env bash
# Benchmark (issues 6, 12): a batch of A4 300-dpi JPEG scans end to end into a zipped E-ARK SIP.
#   dangan pack --zip --policy profiles/policy-tiff-masters.toml
#                          (intake, scan, DA/T 31 QC, TIFF masters + one PDF/A per item, METS/PREMIS: the
#                          peer's work), and the default policy (JPEG pages are accepted masters, kept;
#                          DA/T 31-2017 9.5) beside it, with dangan's time per stage and bytes per page.
#   peer: ImageMagick `convert -compress LZW` per page, tiffcp + tiff2pdf per item (both run as one job per
#         core with xargs -P, as a team on a two-core machine would), then commons-ip `create` (zip SIP with
#         the masters and PDFs as representations) — the real tools a team would script.
# Disk: the masters are lossless, about 12 MB per page; 1,000 pages need about 30 GB free (dangan's output is
# removed before the peer runs).
# Prints wall times, pages/s, the ratio and dangan's peak RSS. Not a test.
#   ITEMS=200 PAGES=5 scripts/bench/pack.sh        (the issue's 1,000 pages; default is smaller)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
ITEMS="${ITEMS:-20}"
PAGES="${PAGES:-5}"
"$ROOT/scripts/install-tools.sh" >/dev/null
# shellcheck source=/dev/null
. "$ROOT/.tools/env.sh"
# DANGAN=/path/to/dangan uses that build instead of building one (e.g. a profiled build already made).
if [ -z "${DANGAN:-}" ]; then
  cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml"
  DANGAN="$ROOT/target/release/dangan"
fi
W="$(mktemp -d /tmp/dangan-bench-pack.XXXXXX)"
trap 'rm -rf "$W"' EXIT
B="$W/batch"; mkdir -p "$B"

echo "generating $((ITEMS * PAGES)) pages (2480x3508, 300 dpi, JPEG q90)…" >&2
# Text-like lines on slightly noisy paper.
draw=()
for y in $(seq 300 60 3200); do
  draw+=(-draw "rectangle 250,$y,$((2200 - (y % 700))),$((y + 18))")
done
"$IMAGEMAGICK" -size 2480x3508 xc:white -fill black "${draw[@]}" -attenuate 0.3 +noise Gaussian \
  -type TrueColor -density 300 -units PixelsPerInch -quality 90 "$W/base.jpg"
printf '档号,题名,分类号,页数\n' > "$B/目录.csv"
export IMAGEMAGICK W B
for i in $(seq 1 "$ITEMS"); do
  n=$(printf %04d "$i")
  printf 'J001-WS·2020-Y-BGS-%s,测试件 %s,X-1.1.6,%s\n' "$n" "$i" "$PAGES" >> "$B/目录.csv"
  for p in $(seq 1 "$PAGES"); do echo "$i $p"; done
done | xargs -P "$(nproc)" -L 1 sh -c '
  # A page-specific mark keeps every page distinct (identical images are a QC error).
  i=$1; p=$2
  "$IMAGEMAGICK" "$W/base.jpg" -fill black -draw "rectangle $((100 + i)),$((100 + p * 7)) $((180 + i)),$((120 + p * 7))" \
    -density 300 -units PixelsPerInch -quality 90 "$B/J001-WS_2020-Y-BGS-$(printf %04d "$i")-$(printf %04d "$p").jpg"' _
N=$((ITEMS * PAGES))

now() { date +%s.%N; }
echo "dangan pack (TIFF masters, the peer's work)…" >&2
t0=$(now)
/usr/bin/time -v "$DANGAN" pack "$B" --out "$W/dangan-out" --zip --id bench --created 2026-01-01T00:00:00Z \
  --policy "$ROOT/profiles/policy-tiff-masters.toml" --json >"$W/dangan.json" 2>"$W/dangan.time"
t1=$(now)
rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$W/dangan.time")
dangan_bytes=$(du -sb "$W/dangan-out" | cut -f1)
rm -rf "$W/dangan-out"

echo "dangan pack (default policy)…" >&2
td0=$(now)
/usr/bin/time -v "$DANGAN" pack "$B" --out "$W/dangan-default" --zip --id bench --created 2026-01-01T00:00:00Z \
  --json >"$W/default.json" 2>"$W/default.time"
td1=$(now)
default_rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$W/default.time")
default_bytes=$(du -sb "$W/dangan-default" | cut -f1)
rm -rf "$W/dangan-default"

echo "peer: ImageMagick + tiff2pdf + commons-ip create…" >&2
t2=$(now)
mkdir -p "$W/peer/masters" "$W/peer/pdf" "$W/peer/out"
JOBS="$(nproc)"
ls "$B"/*.jpg | xargs -P "$JOBS" -I{} sh -c \
  'f="$1"; b=$(basename "$f" .jpg); "$IMAGEMAGICK" "$f" -compress LZW "$W/peer/masters/$b.tif"' _ {}
seq -f %04g 1 "$ITEMS" | xargs -P "$JOBS" -I{} sh -c \
  'n="$1"; tiffcp "$W/peer/masters/J001-WS_2020-Y-BGS-$n-"*.tif "$W/peer/item-$n.tif" &&
   tiff2pdf -j -q 75 -o "$W/peer/pdf/J001-WS_2020-Y-BGS-$n.pdf" "$W/peer/item-$n.tif" &&
   rm "$W/peer/item-$n.tif"' _ {}
# Folders, not file lists: 2,000 paths in one argument exceed the kernel's 128 KiB limit per argument.
data="$B,$W/peer/masters,$W/peer/pdf"
(cd "$W/peer" && java -jar "$COMMONS_IP_JAR" create -s Zip --sip-id=peer --submitter-name=bench \
  --representation-data="$data" -p "$W/peer/out" >/dev/null)
t3=$(now)
peer_bytes=$(du -sb "$W/peer/out" | cut -f1)

python3 - "$t0" "$t1" "$t2" "$t3" "$N" "$rss" "$dangan_bytes" "$peer_bytes" "$td0" "$td1" "$default_rss" \
  "$default_bytes" "$W/dangan.json" "$W/default.json" <<'PY'
import json, sys
t0, t1, t2, t3, n, rss, db, pb, td0, td1, drss, ddb = map(float, sys.argv[1:13])
d, p, dd = t1 - t0, t3 - t2, td1 - td0
def stats(path):
    s = json.load(open(path))["stats"]
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in s["stage_seconds"])
    per_page = ", ".join(f"{k} {v / 1e6:.2f} MB" for k, v in s["bytes_per_page"])
    return stages, per_page
print(f"pages: {int(n)}")
print(f"dangan pack --zip (TIFF masters):    {d:8.1f} s  {n / d:6.2f} pages/s  peak RSS {rss / 1024:.0f} MiB")
print("  stages: %s\n  per page: %s" % stats(sys.argv[13]))
print(f"ImageMagick + tiff2pdf + commons-ip: {p:8.1f} s  {n / p:6.2f} pages/s")
print(f"zipped SIP size: dangan {db / 1e9:.2f} GB, peer {pb / 1e9:.2f} GB")
print(f"ratio (peer time / dangan time):     {p / d:8.2f}x  (target >= 5x, RSS <= 300 MiB)")
print(f"dangan pack --zip (default policy):  {dd:8.1f} s  {n / dd:6.2f} pages/s  peak RSS {drss / 1024:.0f} MiB, "
      f"{ddb / 1e9:.2f} GB ({ddb / n / 1e6:.2f} MB a page)")
print("  stages: %s\n  per page: %s" % stats(sys.argv[14]))
PY
