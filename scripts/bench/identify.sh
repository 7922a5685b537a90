#!/usr/bin/env bash
# Benchmark of `dangan inspect` against its peers (prints ratios; not a timed test).
#
#   1. 500 camera-like EXIF JPEGs of 2–5 MB: `dangan inspect --json DIR` against `exiftool -json DIR`
#      (one process each, page cache warm). Target: dangan ≥ 50× faster (DESIGN.md, issue 13).
#   2. 20,000 small files of mixed formats (copies of fixtures/inspect): `dangan inspect --json
#      --identify-only -r` against fido (opf-fido 1.6.1) and Siegfried (pygfried, 2 workers = the cores).
#      dangan matches the full PRONOM registry (DROID v109: ~2,000 internal signatures, container signatures
#      for ZIP and OLE2) in-process. Target: dangan ≥ 5× faster than Siegfried.
#   3. Start-up: one-file `dangan inspect` (the registry is parsed once, lazily). Target: < 50 ms.
#
# SKIP_JPEG=1 leaves part 1 out.
# Data goes to $BENCH_DIR (default /tmp/dangan-bench) and is reused on a second run.
# SKIP_FIDO=1 leaves fido out (it needs ~3–5 minutes for 20,000 files).
# Needs: scripts/install-tools.sh done (.tools/env.sh), pip install pygfried (optional; reported if absent).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
. .tools/env.sh
IM="$IMAGEMAGICK"
BENCH_DIR="${BENCH_DIR:-/tmp/dangan-bench}"
JPEGS="$BENCH_DIR/jpeg"
MIXED="$BENCH_DIR/mixed"
N_JPEG="${N_JPEG:-500}"
N_MIXED="${N_MIXED:-20000}"

cargo build --release -q
DANGAN="$ROOT/target/release/dangan"

# Seconds (wall clock) of a command, output discarded; its CPU seconds (user + sys, children included) are left
# in the file $CPU_FILE, printed by cpu(): on a shared machine the CPU ratio is the steadier figure.
CPU_FILE="$(mktemp)"
trap 'rm -f "$CPU_FILE"' EXIT
t() {
  local s e
  s=$(date +%s.%N)
  /usr/bin/time -f '%U %S' -o "$CPU_FILE.t" "$@" >/dev/null 2>&1 || true
  e=$(date +%s.%N)
  awk '{ printf "%.3f\n", $1 + $2 }' "$CPU_FILE.t" >"$CPU_FILE"
  rm -f "$CPU_FILE.t"
  echo "$e - $s" | bc -l
}
cpu() { cat "$CPU_FILE"; }
ratio() { echo "scale=1; $1 / $2" | bc -l; }

if [ -z "${SKIP_JPEG:-}" ]; then
# ---------------------------------------------------------------------------------------------------------
# 1. JPEGs: 5 base images of noise (hard to compress: 2–5 MB each), tagged like a camera, copied to 500
#    files; one exiftool run then gives every file its own DateTimeOriginal and ImageUniqueID.
if [ "$(find "$JPEGS" -name '*.jpg' 2>/dev/null | wc -l)" -ne "$N_JPEG" ]; then
  rm -rf "$JPEGS" && mkdir -p "$JPEGS/base"
  sizes=(2600x1800 2900x2000 3200x2200 3500x2400 3800x2600)
  for i in 0 1 2 3 4; do
    "$IM" -size "${sizes[$i]}" xc:gray +noise Random -type TrueColor -blur 0x0.6 -quality 90 -sampling-factor 2x2 \
      "$JPEGS/base/b$i.jpg"
  done
  exiftool -q -overwrite_original -Make=Canon '-Model=Canon EOS 5D Mark IV' -Software='Firmware 1.2.0' \
    -Artist='忻州市档案馆' -ImageDescription='危房改造前照片' -GPSLatitude=38.416 -GPSLatitudeRef=N \
    -GPSLongitude=112.734 -GPSLongitudeRef=E -GPSAltitude=812 -XResolution=300 -YResolution=300 \
    -ExposureTime=0.008 -FNumber=8 -ISO=200 -FocalLength=35 -LensModel='EF24-70mm f/2.8L II USM' \
    "$JPEGS/base"
  for n in $(seq 1 "$N_JPEG"); do cp "$JPEGS/base/b$((n % 5)).jpg" "$JPEGS/IMG_$(printf %04d "$n").jpg"; done
  rm -rf "$JPEGS/base"
  exiftool -q -overwrite_original '-DateTimeOriginal<FileModifyDate' '-ImageUniqueID<FileName' "$JPEGS"
fi
bytes=$(du -sb "$JPEGS" | cut -f1)
echo "== $N_JPEG EXIF JPEGs, $((bytes / N_JPEG / 1024)) KiB average ($(ls -S "$JPEGS" | head -1 | xargs -I{} du -k "$JPEGS/{}" | cut -f1) KiB largest)"
cat "$JPEGS"/*.jpg >/dev/null # page cache
t_d=$(t "$DANGAN" inspect --json "$JPEGS"); c_d=$(cpu); t_d2=$(t "$DANGAN" inspect --json "$JPEGS"); c_d2=$(cpu)
t_d=$(echo "if ($t_d < $t_d2) $t_d else $t_d2" | bc -l); c_d=$(echo "if ($c_d < $c_d2) $c_d else $c_d2" | bc -l)
t_e=$(t exiftool -json "$JPEGS"); c_e=$(cpu)
printf '  dangan inspect --json   %7.3f s wall, %7.3f s CPU  (%.2f ms/file)\n' "$t_d" "$c_d" "$(echo "$t_d * 1000 / $N_JPEG" | bc -l)"
printf '  exiftool -json          %7.3f s wall, %7.3f s CPU  (%.2f ms/file)\n' "$t_e" "$c_e" "$(echo "$t_e * 1000 / $N_JPEG" | bc -l)"
echo "  ratio: dangan is $(ratio "$t_e" "$t_d")× faster than exiftool in wall time, $(ratio "$c_e" "$c_d")× in CPU time (target ≥ 50×)"
fi

# ---------------------------------------------------------------------------------------------------------
# 2. 20,000 mixed small files: the committed fixtures (36 formats) copied round-robin into 20 folders.
if [ "$(find "$MIXED" -type f 2>/dev/null | wc -l)" -ne "$N_MIXED" ]; then
  rm -rf "$MIXED" && mkdir -p "$MIXED"
  mapfile -t src < <(find fixtures/inspect -type f ! -name '*.sh' | sort)
  for n in $(seq 0 $((N_MIXED - 1))); do
    f="${src[$((n % ${#src[@]}))]}"; d="$MIXED/d$((n % 20))"; mkdir -p "$d"
    cp "$f" "$d/$n-$(basename "$f")"
  done
fi
echo "== $N_MIXED mixed small files ($(du -sh "$MIXED" | cut -f1)), $(nproc) cores"
find "$MIXED" -type f -exec cat {} + >/dev/null
# The machine may be shared: every timing runs twice, and both runs are printed (the spread shows the noise).
# t2 prints: wall1 wall2 cpu1 cpu2.
t2() { local a b ca cb; a=$(t "$@"); ca=$(cpu); b=$(t "$@"); cb=$(cpu); echo "$a $b $ca $cb"; }
lo() { echo "if ($1 < $2) $1 else $2" | bc -l; }
hi() { echo "if ($1 > $2) $1 else $2" | bc -l; }
read -r di1 di2 cdi1 cdi2 < <(t2 "$DANGAN" inspect --json --identify-only -r "$MIXED")
read -r dc1 dc2 cdc1 cdc2 < <(t2 "$DANGAN" inspect --json -r "$MIXED")
t_di=$(lo "$di1" "$di2"); t_dc=$(lo "$dc1" "$dc2"); c_di=$(lo "$cdi1" "$cdi2"); c_dc=$(lo "$cdc1" "$cdc2")
printf '  dangan --identify-only  %7.3f s, %7.3f s wall; %7.3f s, %7.3f s CPU  (best %6.0f files/s)\n' "$di1" "$di2" "$cdi1" "$cdi2" "$(echo "$N_MIXED / $t_di" | bc -l)"
printf '  dangan (characterize)   %7.3f s, %7.3f s wall; %7.3f s, %7.3f s CPU  (best %6.0f files/s)\n' "$dc1" "$dc2" "$cdc1" "$cdc2" "$(echo "$N_MIXED / $t_dc" | bc -l)"
if [ -z "${SKIP_FIDO:-}" ]; then # fido takes minutes: SKIP_FIDO=1 to leave it out
  t_f=$(t "$FIDO" -q -recurse "$MIXED"); c_f=$(cpu)
  printf '  fido 1.6.1              %7.3f s wall, %7.3f s CPU  (%6.0f files/s)\n' "$t_f" "$c_f" "$(echo "$N_MIXED / $t_f" | bc -l)"
  echo "  ratio: dangan --identify-only is $(ratio "$t_f" "$t_di")× faster than fido (wall), $(ratio "$c_f" "$c_di")× (CPU)"
fi
if python3 -c 'import pygfried' 2>/dev/null; then
  sf=(python3 -c "import pygfried,sys; pygfried.identify_dir(sys.argv[1], recursive=True, workers=$(nproc))" "$MIXED")
  read -r s1 s2 cs1 cs2 < <(t2 "${sf[@]}")
  t_s=$(lo "$s1" "$s2"); c_s=$(lo "$cs1" "$cs2")
  printf '  siegfried (pygfried %s, %s workers) %7.3f s, %7.3f s wall; %7.3f s, %7.3f s CPU  (best %6.0f files/s)\n' \
    "$(python3 -c 'import pygfried; print(pygfried.version())')" "$(nproc)" "$s1" "$s2" "$cs1" "$cs2" "$(echo "$N_MIXED / $t_s" | bc -l)"
  # Spread of the ratio: slowest Siegfried run over fastest dangan run, and the other way round.
  echo "  ratio: dangan --identify-only is $(ratio "$t_s" "$t_di")× faster than Siegfried (best of two each;" \
    "range $(ratio "$(lo "$s1" "$s2")" "$(hi "$di1" "$di2")")–$(ratio "$(hi "$s1" "$s2")" "$t_di")×; target ≥ 5×)"
  echo "  ratio: dangan with characterization is $(ratio "$t_s" "$t_dc")× faster than Siegfried"
  echo "  CPU ratio: dangan --identify-only uses $(ratio "$c_s" "$c_di")× less CPU than Siegfried (best of two each);" \
    "with characterization $(ratio "$c_s" "$c_dc")×"
else
  echo "  siegfried: pygfried not installed (pip install pygfried)"
fi

# ---------------------------------------------------------------------------------------------------------
# 3. Start-up of a one-file inspect (the PRONOM registry is loaded on first use): best of 10 runs.
one="$ROOT/fixtures/inspect/jfif.jpg"
best_ms=999999
for _ in $(seq 1 10); do
  s=$(date +%s%N); "$DANGAN" inspect --json "$one" >/dev/null; e=$(date +%s%N)
  ms=$(( (e - s) / 1000000 )); [ "$ms" -lt "$best_ms" ] && best_ms=$ms
done
echo "== one-file inspect start-up: ${best_ms} ms (best of 10; target < 50 ms)"
/usr/bin/time -f '   one run: %e s wall, %U s user, %S s sys, %M KiB max RSS' "$DANGAN" inspect --json "$one" >/dev/null
