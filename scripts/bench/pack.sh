#!/usr/bin/env bash
# Benchmark (issues 6, 12): a batch of A4 300-dpi JPEG scans end to end into a zipped E-ARK SIP.
#   dangan pack --zip --policy profiles/policy-tiff-masters.toml, with `[ocr] enabled = false` laid over it
#                          (intake, scan, DA/T 31 QC, TIFF masters + one PDF/A per item, METS/PREMIS: the
#                          peer's work, no OCR); the same with OCR (its cost on its own row); and the default
#                          policy as shipped (JPEG pages are accepted masters, kept, DA/T 31-2017 9.5; OCR
#                          on) beside it, with dangan's time per stage, bytes per page and peak RSS.
#   peer: ImageMagick `convert -compress LZW` per page, tiffcp + tiff2pdf per item (both run as one job per
#         core with xargs -P, as a team on a two-core machine would), then commons-ip `create` (zip SIP with
#         the masters and PDFs as representations) — the real tools a team would script.
# Disk: the masters are lossless, about 12 MB per page; 1,000 pages need about 30 GB free (dangan's output is
# removed before the peer runs).
# Prints wall and CPU (user+sys) times, pages/s, the ratios, dangan's time per stage and peak RSS of every
# run, and what OCR costs on its own row. Not a test.
#   ITEMS=200 PAGES=5 scripts/bench/pack.sh        (the issue's 1,000 pages; default is smaller)
#   SKIP_OCR=1 scripts/bench/pack.sh               (only the like-for-like run and the peer)
# Runs unattended (no prompt, temporary folder removed on exit). With OCR it also runs the default policy
# without `recheck_languages` and with OCR off, and prints OCR's share of the default run and the second
# reading's share of that.
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
# One dangan run: wall (s), CPU (user+sys, s), peak RSS (KiB, /usr/bin/time: the largest of dangan and the
# programs it ran, e.g. tesseract), package bytes and its --json report.
#   run_dangan NAME [pack args…]   → $W/NAME.{json,time,fig}
run_dangan() {
  local name=$1; shift
  local t0 t1
  t0=$(now)
  /usr/bin/time -f '%e %U %S %M' -o "$W/$name.time" \
    "$DANGAN" pack "$B" --out "$W/$name-out" --zip --id bench --created 2026-01-01T00:00:00Z --json "$@" \
    >"$W/$name.json"
  t1=$(now)
  read -r _ user sys rss <"$W/$name.time"
  echo "$t0 $t1 $user $sys $rss $(du -sb "$W/$name-out" | cut -f1)" >"$W/$name.fig"
  rm -rf "$W/$name-out"
}
# The peer's work: TIFF masters and one PDF per item, no OCR. The TIFF-masters policy inherits the default
# `[ocr]` (Tesseract on every page), so the like-for-like run lays `[ocr] enabled = false` over it; the
# OCR's own cost is the difference to the same run with OCR, printed on its own row.
cat "$ROOT/profiles/policy-tiff-masters.toml" - >"$W/tiff-no-ocr.toml" <<'TOML'

[ocr]
enabled = false
rules = []
TOML
echo "dangan pack (TIFF masters, no OCR: the peer's work)…" >&2
run_dangan tiff --policy "$W/tiff-no-ocr.toml"
if [ -z "${SKIP_OCR:-}" ]; then
  echo "dangan pack (TIFF masters with OCR, as the overlay ships)…" >&2
  run_dangan tiff-ocr --policy "$ROOT/profiles/policy-tiff-masters.toml"
  echo "dangan pack (default policy, OCR on as shipped)…" >&2
  run_dangan default
  # The OCR share of the default policy: the same run without the second reading of doubtful lines
  # (`recheck_languages` removed) and without OCR at all (`enabled = false`).
  sed '/^recheck_languages *=/d' "$ROOT/profiles/policy.toml" >"$W/default-no-recheck.toml"
  sed 's/^enabled *= *true/enabled = false/' "$ROOT/profiles/policy.toml" >"$W/default-no-ocr.toml"
  echo "dangan pack (default policy without recheck_languages)…" >&2
  run_dangan default-no-recheck --policy "$W/default-no-recheck.toml"
  echo "dangan pack (default policy, OCR off)…" >&2
  run_dangan default-no-ocr --policy "$W/default-no-ocr.toml"
fi

echo "peer: ImageMagick + tiff2pdf + commons-ip create…" >&2
mkdir -p "$W/peer/masters" "$W/peer/pdf" "$W/peer/out"
export JOBS="$(nproc)" ITEMS COMMONS_IP_JAR
t2=$(now)
/usr/bin/time -f '%e %U %S %M' -o "$W/peer.time" bash -c '
set -euo pipefail
ls "$B"/*.jpg | xargs -P "$JOBS" -I{} sh -c \
  '\''f="$1"; b=$(basename "$f" .jpg); "$IMAGEMAGICK" "$f" -compress LZW "$W/peer/masters/$b.tif"'\'' _ {}
seq -f %04g 1 "$ITEMS" | xargs -P "$JOBS" -I{} sh -c \
  '\''n="$1"; tiffcp "$W/peer/masters/J001-WS_2020-Y-BGS-$n-"*.tif "$W/peer/item-$n.tif" &&
   tiff2pdf -j -q 75 -o "$W/peer/pdf/J001-WS_2020-Y-BGS-$n.pdf" "$W/peer/item-$n.tif" &&
   rm "$W/peer/item-$n.tif"'\'' _ {}
# Folders, not file lists: 2,000 paths in one argument exceed the kernel'\''s 128 KiB limit per argument.
data="$B,$W/peer/masters,$W/peer/pdf"
cd "$W/peer" && java -jar "$COMMONS_IP_JAR" create -s Zip --sip-id=peer --submitter-name=bench \
  --representation-data="$data" -p "$W/peer/out" >/dev/null'
t3=$(now)
read -r _ puser psys _ <"$W/peer.time"
peer_bytes=$(du -sb "$W/peer/out" | cut -f1)

python3 - "$W" "$N" "$t2" "$t3" "$puser" "$psys" "$peer_bytes" <<'PY'
import json, os, sys
w, n = sys.argv[1], int(sys.argv[2])
t2, t3, puser, psys, pb = map(float, sys.argv[3:8])
p, pcpu = t3 - t2, puser + psys
def run(name):
    path = f"{w}/{name}.fig"
    if not os.path.exists(path):
        return None
    t0, t1, user, sys_, rss, size = map(float, open(path).read().split())
    s = json.load(open(f"{w}/{name}.json"))["stats"]
    return dict(wall=t1 - t0, cpu=user + sys_, rss=rss / 1024, size=size, stats=s)
def row(label, r):
    print(f"{label:38s} {r['wall']:7.1f} s wall {r['cpu']:7.1f} s CPU  {n / r['wall']:6.2f} pages/s  "
          f"peak RSS {r['rss']:.0f} MiB  {r['size'] / 1e9:.2f} GB ({r['size'] / n / 1e6:.2f} MB a page)")
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in r["stats"]["stage_seconds"])
    per_page = ", ".join(f"{k} {v / 1e6:.2f} MB" for k, v in r["stats"]["bytes_per_page"])
    print(f"{'':38s} stages: {stages}\n{'':38s} per page: {per_page}")
print(f"pages: {n} (machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at the end; "
      "figures from one run each; on a shared machine compare the CPU columns)")
tiff = run("tiff")
row("dangan pack --zip (TIFF masters, no OCR)", tiff)
print(f"{'ImageMagick + tiff2pdf + commons-ip':38s} {p:7.1f} s wall {pcpu:7.1f} s CPU  {n / p:6.2f} pages/s  "
      f"{pb / 1e9:.2f} GB")
print(f"ratio, same work (peer / dangan):      {p / tiff['wall']:7.2f}x wall  {pcpu / tiff['cpu']:7.2f}x CPU"
      "  (target >= 5x, RSS <= 300 MiB)")
ocr = run("tiff-ocr")
if ocr:
    row("dangan, TIFF masters + OCR (shipped)", ocr)
    print(f"{'OCR (Tesseract) costs':38s} {ocr['wall'] - tiff['wall']:7.1f} s wall "
          f"{ocr['cpu'] - tiff['cpu']:7.1f} s CPU  ({(ocr['wall'] - tiff['wall']) / n:.2f} s a page)")
default = run("default")
if default:
    row("dangan pack --zip (default policy)", default)
    no_recheck, no_ocr = run("default-no-recheck"), run("default-no-ocr")
    row("default without recheck_languages", no_recheck)
    row("default with OCR off", no_ocr)
    def share(label, a, b):
        print(f"{label:38s} {a['wall'] - b['wall']:7.1f} s wall {a['cpu'] - b['cpu']:7.1f} s CPU  "
              f"({100 * (a['wall'] - b['wall']) / a['wall']:.0f} % of the default run's wall, "
              f"{100 * (a['cpu'] - b['cpu']) / a['cpu']:.0f} % of its CPU)")
    share("OCR in the default policy", default, no_ocr)
    share("of which the second reading (recheck)", default, no_recheck)
PY
