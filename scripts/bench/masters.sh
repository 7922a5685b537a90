#!/usr/bin/env bash
# Measurement (issue 12, item 7): what a lossless master of a JPEG scan costs — LZW TIFF and Deflate TIFF as
# dangan writes them (the same pages, through `dangan pack`), and lossless JPEG 2000 (OpenJPEG
# `opj_compress`, reversible 5/3 wavelet, its default) — beside keeping the JPEG itself (the default policy,
# DA/T 31-2017 9.5). Prints bytes per page and the seconds the masters add. Not a test.
#   PAGES=10 scripts/bench/masters.sh
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
PAGES="${PAGES:-10}"
"$ROOT/scripts/install-tools.sh" >/dev/null
# shellcheck source=/dev/null
. "$ROOT/.tools/env.sh"
cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml"
DANGAN="$ROOT/target/release/dangan"
W="$(mktemp -d /tmp/dangan-bench-masters.XXXXXX)"
trap 'rm -rf "$W"' EXIT
B="$W/batch"; mkdir -p "$B"

echo "generating $PAGES pages (2480x3508, 300 dpi, JPEG q90)…" >&2
draw=()
for y in $(seq 300 60 3200); do
  draw+=(-draw "rectangle 250,$y,$((2200 - (y % 700))),$((y + 18))")
done
"$IMAGEMAGICK" -size 2480x3508 xc:white -fill black "${draw[@]}" -attenuate 0.3 +noise Gaussian \
  -type TrueColor -density 300 -units PixelsPerInch -quality 90 "$W/base.jpg"
printf '档号,题名,分类号,页数\n' > "$B/目录.csv"
printf 'J001-WS·2020-Y-BGS-0001,测试件,X-1.1.6,%s\n' "$PAGES" >> "$B/目录.csv"
for p in $(seq 1 "$PAGES"); do
  "$IMAGEMAGICK" "$W/base.jpg" -fill black -draw "rectangle 100,$((100 + p * 7)) 180,$((120 + p * 7))" \
    -density 300 -units PixelsPerInch -quality 90 "$B/J001-WS_2020-Y-BGS-0001-$(printf %04d "$p").jpg"
done

overlay() { # compression
  cat > "$W/$1.toml" <<TOML
[[rule]]
id = "scan-page-jpeg"
match = { puids = ["fmt/41", "fmt/42", "fmt/43", "fmt/44", "x-fmt/398", "x-fmt/390", "x-fmt/391", "fmt/645", "fmt/1507"], role = "page" }
preservation = { action = "convert", to = "tiff", compression = "$1", predictor = true }
access = [{ kind = "item-pdf", dpi = 150, quality = 75 }]
TOML
}
run() { # name [--policy file]
  rm -rf "$W/out-$1"
  "$DANGAN" pack "$B" --out "$W/out-$1" --id m --created 2026-01-01T00:00:00Z --json "${@:2}" > "$W/$1.json"
}
overlay lzw; overlay deflate
run keep
run lzw --policy "$W/lzw.toml"
run deflate --policy "$W/deflate.toml"

echo "lossless JPEG 2000 (opj_compress)…" >&2
mkdir -p "$W/jp2"
for f in "$B"/*.jpg; do "$IMAGEMAGICK" "$f" "$W/jp2/$(basename "$f" .jpg).ppm"; done
t0=$(date +%s.%N)
for f in "$W"/jp2/*.ppm; do opj_compress -i "$f" -o "${f%.ppm}.jp2" >/dev/null; done
t1=$(date +%s.%N)
jp2_bytes=$(cat "$W"/jp2/*.jp2 | wc -c)
jpg_bytes=$(cat "$B"/*.jpg | wc -c)

python3 - "$W" "$PAGES" "$t0" "$t1" "$jp2_bytes" "$jpg_bytes" <<'PY'
import json, sys
w, n, t0, t1, jp2, jpg = sys.argv[1], int(sys.argv[2]), *map(float, sys.argv[3:7])
def load(name):
    s = json.load(open(f"{w}/{name}.json"))["stats"]
    return dict(s["stage_seconds"]), dict(s["bytes_per_page"])
keep_t, keep_b = load("keep")
print(f"pages: {n} (2480x3508 colour, 300 dpi, JPEG q90: {jpg / n / 1e6:.2f} MB a page)")
print(f"keep JPEG (default policy):   master {jpg / n / 1e6:6.2f} MB/page, +0.00 s/page;"
      f" access PDF {keep_b.get('access', 0) / 1e6:.2f} MB/page")
for name in ("lzw", "deflate"):
    t, b = load(name)
    extra = (t["qc+normalize"] + t["package"] - keep_t["qc+normalize"] - keep_t["package"]) / n
    print(f"TIFF {name:8s} (dangan):      master {b.get('preservation', 0) / 1e6:6.2f} MB/page, "
          f"+{extra:.2f} s/page (qc+normalize+package over keep)")
print(f"JPEG 2000 lossless (opj):     master {jp2 / n / 1e6:6.2f} MB/page, +{(t1 - t0) / n:.2f} s/page (encode only)")
PY
