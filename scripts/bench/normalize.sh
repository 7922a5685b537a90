#!/usr/bin/env bash
# Benchmark (issue 5): 200 A4 300-dpi colour scans (2480×3508 JPEG, quality 90) in 40 items of 5 pages →
# a TIFF master per page plus one PDF per item.
#   dangan:      dangan normalize (release build; LZW + predictor masters, PDF/A-2b at 150 dpi)
#   ImageMagick: convert -compress LZW per page, then tiff2pdf per item (the peer named in the issue),
#                run as a plain sequential loop, and again with 2 parallel jobs (xargs -P 2) for fairness.
# Prints wall times, the ratio, and dangan's peak RSS (GNU time). Not a test: nothing is asserted.
#
#   scripts/bench/normalize.sh [WORKDIR]     (default: a temporary folder, removed at the end)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
IM=/usr/bin/convert # /usr/local/bin/convert may be a stand-in
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "GNU time missing: apt-get install time" >&2; exit 1; }
command -v tiff2pdf >/dev/null || { echo "tiff2pdf missing: run scripts/install-tools.sh" >&2; exit 1; }
WORK="${1:-$(mktemp -d)}"
[ -n "${1:-}" ] || trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK"
ITEMS=40
PAGES=5

echo "== build (release)"
(cd "$ROOT" && cargo build --release -q)
DANGAN="$ROOT/target/release/dangan"

echo "== generate $((ITEMS * PAGES)) scans in $WORK/in"
IN="$WORK/in"
if [ ! -f "$WORK/.generated" ]; then
  rm -rf "$IN" && mkdir -p "$IN" "$WORK/seed"
  # A few distinct pages (text-like noise on paper tones), then copies with a one-pixel variation so that
  # no two files are identical.
  for s in 1 2 3 4; do
    "$IM" -size 2480x3508 "xc:#f4efe2" \
      \( -size 620x877 plasma:fractal -blur 0x1 -resize 2480x3508\! \) -compose multiply -composite \
      -seed "$s" +noise Gaussian -attenuate 0.3 \
      -fill "#1a1a1a" -draw "rectangle 300,400 2180,460" -draw "rectangle 300,600 1900,640" \
      -draw "rectangle 300,800 2000,840" -draw "rectangle 300,1000 2100,1040" \
      -density 300 -units PixelsPerInch -quality 90 "$WORK/seed/$s.jpg"
  done
  for i in $(seq 1 $ITEMS); do
    for p in $(seq 1 $PAGES); do
      s=$(( (i + p) % 4 + 1 ))
      name=$(printf 'J001-WS_2019-Y-BGS-%04d-%04d.jpg' "$i" "$p")
      "$IM" "$WORK/seed/$s.jpg" -fill "rgb($i,$p,0)" -draw "point $i,$p" -quality 90 \
        -density 300 -units PixelsPerInch "$IN/$name"
    done
  done
  touch "$WORK/.generated"
fi
du -sh "$IN" | awk '{print "input: " $1}'

# Page cache warm for both.
cat "$IN"/*.jpg >/dev/null

secs() { awk -F: '/Elapsed \(wall clock\)/ {n=split($0,a,": "); t=a[n]; m=split(t,b,":"); s=0; for(i=1;i<=m;i++) s=s*60+b[i]; print s}' "$1"; }
rss() { awk '/Maximum resident set size/ {printf "%.0f", $NF/1024}' "$1"; }

echo "== dangan normalize"
rm -rf "$WORK/out-dangan"
"$TIME" -v "$DANGAN" normalize "$IN" --out "$WORK/out-dangan" --created 2024-01-01T00:00:00Z >/dev/null 2>"$WORK/dangan.time"
D=$(secs "$WORK/dangan.time"); DR=$(rss "$WORK/dangan.time")
echo "dangan: ${D} s, peak RSS ${DR} MiB"

peer() { # $1 = parallel jobs
  local out="$WORK/out-im-$1"
  rm -rf "$out" && mkdir -p "$out/tif" "$out/pdf"
  cat >"$WORK/peer.sh" <<PEER
set -e
ls "$IN"/*.jpg | xargs -P $1 -I{} sh -c 'f={}; b=\$(basename "\$f" .jpg); "$IM" "\$f" -compress LZW "$out/tif/\$b.tif"'
for i in \$(seq -f '%04g' 1 $ITEMS); do echo \$i; done | xargs -P $1 -I{} sh -c '
  tiffcp "$out"/tif/J001-WS_2019-Y-BGS-{}-*.tif "$out/pdf/{}.tif" && tiff2pdf -o "$out/pdf/J001-WS_2019-Y-BGS-{}.pdf" "$out/pdf/{}.tif" && rm "$out/pdf/{}.tif"'
PEER
  "$TIME" -v bash "$WORK/peer.sh" 2>"$WORK/im-$1.time" >/dev/null
}
echo "== ImageMagick + tiff2pdf, sequential"
peer 1
I1=$(secs "$WORK/im-1.time"); IR1=$(rss "$WORK/im-1.time")
echo "ImageMagick: ${I1} s, peak RSS ${IR1} MiB"
echo "== ImageMagick + tiff2pdf, 2 jobs"
peer 2
I2=$(secs "$WORK/im-2.time"); IR2=$(rss "$WORK/im-2.time")
echo "ImageMagick -P2: ${I2} s, peak RSS ${IR2} MiB (largest single process)"

size() { du -sm "$1" | awk '{print $1}'; }
echo
echo "== results ($((ITEMS * PAGES)) pages, $ITEMS items, $(nproc) cores)"
printf '%-26s %8s %10s %12s %10s\n' "" "wall s" "RSS MiB" "masters MiB" "PDFs MiB"
printf '%-26s %8s %10s %12s %10s\n' "dangan" "$D" "$DR" "$(size "$WORK/out-dangan/preservation")" "$(size "$WORK/out-dangan/access")"
printf '%-26s %8s %10s %12s %10s\n' "ImageMagick+tiff2pdf" "$I1" "$IR1" "$(size "$WORK/out-im-1/tif")" "$(size "$WORK/out-im-1/pdf")"
printf '%-26s %8s %10s %12s %10s\n' "ImageMagick+tiff2pdf -P2" "$I2" "$IR2" "$(size "$WORK/out-im-2/tif")" "$(size "$WORK/out-im-2/pdf")"
awk -v d="$D" -v a="$I1" -v b="$I2" 'BEGIN { printf "speed-up: %.2fx vs sequential peer, %.2fx vs 2-job peer (target >= 2x)\n", a/d, b/d }'
awk -v r="$DR" 'BEGIN { printf "dangan peak RSS: %d MiB (target <= 500 MiB)\n", r }'
