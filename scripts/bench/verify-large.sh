#!/usr/bin/env bash
# Verify speed on large files (issue 11): `dangan verify` against bagit-python `--validate --processes 2`
# on one SHA-256 bag, both run in turn RUNS times, files in the page cache. Prints wall and CPU (user+sys)
# seconds and the ratios; not a timed test. Smaller than scripts/bench/fixity.sh, so that it can run on a
# shared machine; the CPU ratio is the steadier figure there (wall time depends on who else runs).
#
#   scripts/bench/verify-large.sh                     # 3 x 256 MiB + 1,000 x 64 KiB
#   LARGE=4 LARGE_MIB=128 SMALL=0 RUNS=5 scripts/bench/verify-large.sh
#   DANGAN=target/debug/dangan scripts/bench/verify-large.sh   # any build (dependencies are optimized in dev)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
RUNS="${RUNS:-3}"
LARGE="${LARGE:-3}"
LARGE_MIB="${LARGE_MIB:-256}"
SMALL="${SMALL:-1000}"
if [ -z "${BAGIT_PY:-}" ] && [ -f "$ROOT/.tools/env.sh" ]; then . "$ROOT/.tools/env.sh"; fi
BAGIT_PY="${BAGIT_PY:?run scripts/install-tools.sh first (BAGIT_PY)}"
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "bench: $TIME missing (Debian package 'time')" >&2; exit 2; }
if [ -z "${DANGAN:-}" ]; then
  (cd "$ROOT" && cargo build --release --quiet)
  DANGAN="$ROOT/target/release/dangan"
fi

W="$(mktemp -d "${BENCH_DIR:-/tmp}/dangan-verify-bench.XXXXXX")"
trap 'rm -rf "$W"' EXIT
python3 - "$W/bag" "$LARGE" "$LARGE_MIB" "$SMALL" <<'PY'
import os, sys
bag, large, mib, small = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
os.makedirs(f"{bag}/large"); os.makedirs(f"{bag}/small")
block = os.urandom(1 << 20)
for i in range(large):
    with open(f"{bag}/large/big{i}.bin", "wb") as f:
        for j in range(mib):
            f.write(i.to_bytes(4, "little") + j.to_bytes(4, "little") + block[8:])
for i in range(small):
    with open(f"{bag}/small/f{i:05d}.bin", "wb") as f:
        f.write(os.urandom(64 << 10))
PY
"$BAGIT_PY" --quiet --sha256 --processes 2 "$W/bag"
cat "$W"/bag/data/large/* >/dev/null
"$DANGAN" verify --quiet "$W/bag" >/dev/null || { echo "bench: dangan rejects the bag" >&2; exit 1; }
"$BAGIT_PY" --quiet --validate --processes 2 "$W/bag" || { echo "bench: bagit-python rejects the bag" >&2; exit 1; }

echo "bench: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, sha_ni: $(grep -qw sha_ni /proc/cpuinfo && echo yes || echo no), load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "bench: $LARGE x $LARGE_MIB MiB + $SMALL x 64 KiB ($(du -sb --apparent-size "$W/bag/data" | cut -f1) bytes), runs=$RUNS, $DANGAN"
# One line per run: wall user sys, for each tool in turn (interleaved, so both see the same machine).
for _ in $(seq "$RUNS"); do
  "$TIME" -f '%e %U %S' -o "$W/d" "$DANGAN" verify --quiet "$W/bag" >/dev/null
  "$TIME" -f '%e %U %S' -o "$W/p" "$BAGIT_PY" --quiet --validate --processes 2 "$W/bag"
  paste -d' ' "$W/d" "$W/p" >>"$W/runs"
done
awk '{ dw += $1; dc += $2 + $3; pw += $4; pc += $5 + $6; n++ }
  { printf "run %d: dangan %.2f s wall %.2f s cpu | bagit-python %.2f s wall %.2f s cpu\n", n, $1, $2 + $3, $4, $5 + $6 }
  END { printf "mean: dangan %.2f s wall %.2f s cpu | bagit-python %.2f s wall %.2f s cpu | ratio wall %.2fx cpu %.2fx\n",
        dw / n, dc / n, pw / n, pc / n, pw / dw, pc / dc }' "$W/runs"
