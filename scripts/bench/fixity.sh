#!/usr/bin/env bash
# Fixity benchmark (issue 3): `dangan verify` against bagit-python and OpenSSL, side by side on this
# machine, files in the page cache. Prints ratios; not a timed test.
#
#   scripts/bench/fixity.sh            # needs scripts/install-tools.sh to have run (bagit.py)
#   RUNS=5 BENCH_DIR=/var/tmp scripts/bench/fixity.sh
#
# Data (generated, deleted at exit): (a) 2,000 x 64 KiB + 3 x 256 MiB; (b) 20,000 x 4 KiB;
# (c) one 2 GiB file. Each is made into a SHA-256-only bag by `bagit.py --sha256` (in place).
# Targets: (a) >= 1.4x bagit-python's bytes/s; (b) >= 2x its files/s; (c) >= 1.0x
# `openssl dgst -sha256`; peak RSS <= 64 MiB on (b). Also: SHA-256+SM3 in one pass.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
RUNS="${RUNS:-3}"
if [ -z "${BAGIT_PY:-}" ] && [ -f "$ROOT/.tools/env.sh" ]; then . "$ROOT/.tools/env.sh"; fi
BAGIT_PY="${BAGIT_PY:?run scripts/install-tools.sh first (BAGIT_PY)}"
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "bench: $TIME missing (Debian package 'time')" >&2; exit 2; }

(cd "$ROOT" && cargo build --release --quiet)
DANGAN="$ROOT/target/release/dangan"

W="$(mktemp -d "${BENCH_DIR:-/tmp}/dangan-bench.XXXXXX")"
trap 'rm -rf "$W"' EXIT
echo "bench: data in $W"

python3 - "$W" <<'PY'
import os, sys
w = sys.argv[1]
def make(path, size, seed):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        left = size
        block = os.urandom(1 << 20)
        while left > 0:
            n = min(left, len(block))
            # vary content per file cheaply: prefix a seed
            f.write(seed.to_bytes(8, "little") + block[8:n] if n >= 8 else block[:n])
            left -= n
for i in range(2000):
    make(f"{w}/a/small/{i // 100:02d}/f{i:05d}.bin", 64 * 1024, i)
for i in range(3):
    make(f"{w}/a/large/big{i}.bin", 256 << 20, 10_000 + i)
for i in range(20000):
    make(f"{w}/b/{i // 1000:02d}/f{i:05d}.bin", 4096, 20_000 + i)
make(f"{w}/c/huge.bin", 2 << 30, 99)
PY
for d in a b c; do "$BAGIT_PY" --quiet --sha256 --processes 2 "$W/$d"; done

# best_of CMD...: the shortest wall time (s) of RUNS runs after one warm-up; the largest peak RSS
# (KiB) of those runs goes to $W/rss (best_of runs in a subshell).
best_of() {
  local best="" t rss RSS_KB=0
  "$@" >/dev/null 2>&1 || true
  for _ in $(seq "$RUNS"); do
    "$TIME" -f '%e %M' -o "$W/time.out" "$@" >/dev/null 2>"$W/err.out" || {
      grep -q . "$W/err.out" && tail -n 3 "$W/err.out" >&2
    }
    read -r t rss <"$W/time.out"
    [ "$rss" -gt "$RSS_KB" ] && RSS_KB="$rss"
    if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best="$t"; fi
  done
  echo "$RSS_KB" >"$W/rss"
  echo "$best"
}
bytes_of() { du -sb --apparent-size "$1/data" | cut -f1; }
ratio() { awk "BEGIN{printf \"%.2f\", $1 / $2}"; }
gbps() { awk "BEGIN{printf \"%.2f\", $1 / $2 / 1e9}"; }

echo "bench: cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, sha_ni: $(grep -qw sha_ni /proc/cpuinfo && echo yes || echo no)"
echo "bench: $("$BAGIT_PY" --version 2>&1 | head -n1), $(openssl version), runs=$RUNS (best of)"

# Correctness first: both tools must say these bags are valid.
for d in a b c; do
  "$DANGAN" verify --quiet "$W/$d" >/dev/null || { echo "bench: dangan rejects $d" >&2; exit 1; }
done

A_BYTES=$(bytes_of "$W/a")
ta_d=$(best_of "$DANGAN" verify --quiet "$W/a")
ta_p=$(best_of "$BAGIT_PY" --validate --processes 2 "$W/a")
printf '(a) 2,000 x 64 KiB + 3 x 256 MiB, %s bytes: dangan %ss = %s GB/s; bagit.py --processes 2 %ss = %s GB/s; ratio %sx (target >= 1.4)\n' \
  "$A_BYTES" "$ta_d" "$(gbps "$A_BYTES" "$ta_d")" "$ta_p" "$(gbps "$A_BYTES" "$ta_p")" "$(ratio "$ta_p" "$ta_d")"

tb_d=$(best_of "$DANGAN" verify --quiet "$W/b")
rss_b=$(cat "$W/rss")
tb_p=$(best_of "$BAGIT_PY" --validate --processes 2 "$W/b")
printf '(b) 20,000 x 4 KiB: dangan %ss = %.0f files/s; bagit.py --processes 2 %ss = %.0f files/s; ratio %sx (target >= 2)\n' \
  "$tb_d" "$(awk "BEGIN{print 20000 / $tb_d}")" "$tb_p" "$(awk "BEGIN{print 20000 / $tb_p}")" "$(ratio "$tb_p" "$tb_d")"
printf '(b) dangan peak RSS %s KiB = %.1f MiB (target <= 64 MiB)\n' "$rss_b" "$(awk "BEGIN{print $rss_b / 1024}")"
"$TIME" -v "$DANGAN" verify --quiet "$W/b" 2>&1 >/dev/null | grep -E 'Maximum resident' | sed 's/^\s*/(b) \/usr\/bin\/time -v: /'

C_BYTES=$(bytes_of "$W/c")
tc_d=$(best_of "$DANGAN" verify --quiet "$W/c")
tc_o=$(best_of openssl dgst -sha256 "$W/c/data/huge.bin")
printf '(c) one 2 GiB file: dangan %ss = %s GB/s; openssl dgst -sha256 %ss = %s GB/s; ratio %sx (target >= 1.0)\n' \
  "$tc_d" "$(gbps "$C_BYTES" "$tc_d")" "$tc_o" "$(gbps "$C_BYTES" "$tc_o")" "$(ratio "$tc_o" "$tc_d")"

# SHA-256 + SM3 in one pass: add an SM3 manifest to bag (c) and (a), then verify both digests.
for d in a c; do
  (cd "$W/$d" && find data -type f -print0 | sort -z | xargs -0 "$DANGAN" hash --algo sm3 |
    awk '{ print $2 "  " $3 }' >manifest-sm3.txt)
done
"$DANGAN" verify --quiet "$W/a" "$W/c" >/dev/null || { echo "bench: sm3 manifests rejected" >&2; exit 1; }
td_c=$(best_of "$DANGAN" verify --quiet "$W/c")
td_a=$(best_of "$DANGAN" verify --quiet "$W/a")
tsm3=$(best_of "$DANGAN" hash --algo sm3 "$W/c/data/huge.bin")
# SHA-NI check, robust to a busy machine: software SHA-256 runs at about the speed of software SM3
# (both 64 rounds of 32-bit operations); with the SHA extensions it is several times faster.
printf '(c) SHA-256 on one core %s GB/s = %sx SM3 (software) -> SHA-NI %s\n' "$(gbps "$C_BYTES" "$tc_d")" \
  "$(ratio "$tsm3" "$tc_d")" "$(awk "BEGIN{print ($tsm3 / $tc_d >= 3) ? \"in use\" : \"NOT in use\"}")"
printf 'dual SHA-256+SM3, one pass: (c) one file %s GB/s; (a) 2 cores %s GB/s; SM3 alone on one core %s GB/s\n' \
  "$(gbps "$C_BYTES" "$td_c")" "$(gbps "$A_BYTES" "$td_a")" "$(gbps "$C_BYTES" "$tsm3")"
