#!/usr/bin/env bash
# Object-storage benchmark (issue 16): `dangan verify s3://…` of SIP zips in a real Garage server on
# 127.0.0.1 against `rclone hashsum sha256 --download` over the same bucket, in the same run. Prints the
# ratio and dangan's peak RSS; not a timed test.
#
#   scripts/bench/s3.sh                      # 2 GiB in 8 zips (the issue's size)
#   SIZE_MB=256 ZIPS=4 RUNS=1 scripts/bench/s3.sh   # a quick run
#
# Both sides read every byte of every zip over HTTP from the same server: rclone hashes each object as
# a whole; dangan reads each zip's central directory and entries by ranged GETs and checks every entry
# against the SHA-256 its METS declares. Targets: >= 1.5x rclone's wall time, peak RSS <= 128 MiB.
# The server runs on the same cores: its CPU time is printed beside each client's, with the bytes of
# blocks it read (its own metrics) and its GETs, so that what a client costs the server is seen too.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
RUNS="${RUNS:-3}"
SIZE_MB="${SIZE_MB:-2048}"
ZIPS="${ZIPS:-8}"
GARAGE="${GARAGE:-$HOME/.cache/dangan-tools/garage/bin/garage}"
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "bench: $TIME missing (Debian package 'time')" >&2; exit 2; }
[ -x "$GARAGE" ] || { echo "bench: $GARAGE missing: run scripts/install-tools.sh" >&2; exit 2; }
command -v rclone >/dev/null || { echo "bench: rclone missing: run scripts/install-tools.sh" >&2; exit 2; }
command -v curl >/dev/null || { echo "bench: curl missing (reads Garage's metrics)" >&2; exit 2; }

if [ -z "${DANGAN:-}" ]; then
  (cd "$ROOT" && cargo build --release --quiet)
  DANGAN="$ROOT/target/release/dangan"
fi

W="$(mktemp -d "${BENCH_DIR:-/tmp}/dangan-bench-s3.XXXXXX")"
GPID=""
cleanup() { [ -n "$GPID" ] && kill "$GPID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
echo "bench: data in $W"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
RPC=$(free_port); S3=$(free_port); ADMIN=$(free_port)
cat >"$W/garage.toml" <<TOML
metadata_dir = "$W/meta"
data_dir = "$W/data"
db_engine = "lmdb"
metadata_fsync = false
data_fsync = false
replication_factor = 1
rpc_bind_addr = "127.0.0.1:$RPC"
rpc_public_addr = "127.0.0.1:$RPC"
rpc_secret = "$(openssl rand -hex 32)"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:$S3"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:$ADMIN"
TOML
g() { "$GARAGE" -c "$W/garage.toml" "$@"; }
RUST_LOG=warn "$GARAGE" -c "$W/garage.toml" server >"$W/garage.log" 2>&1 &
GPID=$!
for _ in $(seq 300); do
  g status >/dev/null 2>&1 && NODE=$(g node id -q 2>/dev/null | grep -o '^[0-9a-f]*@' | tr -d @ || true)
  [ -n "${NODE:-}" ] && break
  sleep 0.2
done
[ -n "${NODE:-}" ] || { cat "$W/garage.log" >&2; echo "bench: garage did not start" >&2; exit 2; }
g layout assign -z dc1 -c 10G "$NODE" >/dev/null
g layout apply --version 1 >/dev/null
KEY=$(g key create bench)
export AWS_ACCESS_KEY_ID=$(sed -n 's/^ *Key ID: *//p' <<<"$KEY")
export AWS_SECRET_ACCESS_KEY=$(sed -n 's/^ *Secret key: *//p' <<<"$KEY")
export AWS_REGION=garage AWS_ENDPOINT_URL="http://127.0.0.1:$S3"
g bucket create bench >/dev/null
g bucket allow --read --write --owner bench --key bench >/dev/null
# rclone's AWS SDK fails on a custom CA bundle with its transport; the endpoint is plain http on loopback.
unset AWS_CA_BUNDLE
# rclone, configured from the environment only (no config file, no key on a command line).
export RCLONE_CONFIG_GB_TYPE=s3 RCLONE_CONFIG_GB_PROVIDER=Other RCLONE_CONFIG_GB_ENDPOINT="$AWS_ENDPOINT_URL" \
  RCLONE_CONFIG_GB_REGION=garage RCLONE_CONFIG_GB_FORCE_PATH_STYLE=true \
  RCLONE_CONFIG_GB_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" RCLONE_CONFIG_GB_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY"

# SIP zips: METS.xml declaring a few random payload files by SHA-256 (stored: scans are incompressible).
python3 - "$W/zips" "$SIZE_MB" "$ZIPS" <<'PY'
import hashlib, os, sys, zipfile
out, size_mb, zips = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(out, exist_ok=True)
per_zip = (size_mb << 20) // zips
files = 4
block = os.urandom(1 << 20)
for z in range(zips):
    oid = f"BENCH-{z:03d}"
    entries = []
    with zipfile.ZipFile(f"{out}/{oid}.zip", "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for i in range(files):
            name = f"representations/original/data/f{i}.bin"
            h = hashlib.sha256()
            n = per_zip // files
            with zf.open(f"{oid}/{name}", "w", force_zip64=True) as w:
                left, k = n, 0
                while left > 0:
                    chunk = (z * 1000 + i * 100 + k).to_bytes(8, "little") + block[8:min(left, len(block))]
                    chunk = chunk[:min(left, len(block))]
                    w.write(chunk); h.update(chunk); left -= len(chunk); k += 1
            entries.append((name, n, h.hexdigest()))
        mets = ['<mets xmlns="http://www.loc.gov/METS/" xmlns:xlink="http://www.w3.org/1999/xlink" OBJID="%s"><fileSec><fileGrp>' % oid]
        for j, (name, n, d) in enumerate(entries):
            mets.append(f'<file ID="f{j}" SIZE="{n}" CHECKSUMTYPE="SHA-256" CHECKSUM="{d}"><FLocat xlink:href="{name}"/></file>')
        mets.append("</fileGrp></fileSec></mets>")
        zf.writestr(f"{oid}/METS.xml", "".join(mets))
PY
rclone copy "$W/zips" gb:bench/zips --s3-upload-concurrency 4 >/dev/null
rm -rf "$W/zips"
BYTES=$(rclone size gb:bench/zips --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["bytes"])')
echo "bench: $ZIPS SIP zips, $BYTES bytes in Garage $("$GARAGE" --version 2>&1 | head -n1) at $AWS_ENDPOINT_URL"

# Garage's CPU time so far (user + system of all its threads, in clock ticks), from /proc/PID/stat.
TICK=$(getconf CLK_TCK)
server_ticks() { awk '{ print $14 + $15 }' "/proc/$GPID/stat"; }
# What the server did, from its own metrics (admin API, Prometheus text): bytes of blocks read from disk
# (Garage reads whole 1 MiB blocks for any range it serves, so ranges that share a block cost it twice)
# and GetObject requests. Steadier than CPU time on a shared machine. Printed with %.0f: mawk (Debian's awk)
# clamps %d at 2^31 - 1, which made every difference of two counters past 2 GiB zero.
server_work() {
  curl -s "http://127.0.0.1:$ADMIN/metrics" | awk '/^block_bytes_read /{b=$2}
    /^api_s3_request_counter\{api_endpoint="GetObject"\}/{g=$2} END{printf "%.0f %.0f\n", b, g}'
}

# best_of NAME CMD...: one warm-up, then RUNS runs; prints the run with the shortest wall time as
# "wall client_user client_sys server_cpu server_block_bytes server_gets" and the largest peak RSS (KiB)
# of all runs.
best_of() {
  local name="$1" best="" line="" worst_rss=0 t u s rss s0 s1 srv b0 g0 b1 g1
  shift
  "$@" >"$W/$name.out" 2>"$W/$name.err" || { tail -n 5 "$W/$name.err" >&2; echo "bench: $name failed" >&2; exit 2; }
  for _ in $(seq "$RUNS"); do
    read -r b0 g0 < <(server_work)
    s0=$(server_ticks)
    "$TIME" -f '%e %U %S %M' -o "$W/time.out" "$@" >"$W/$name.out" 2>"$W/$name.err"
    s1=$(server_ticks)
    read -r b1 g1 < <(server_work)
    read -r t u s rss <"$W/time.out"
    srv=$(python3 -c "print(($s1 - $s0) / $TICK)")
    if [ -z "$best" ] || python3 -c "import sys; sys.exit(0 if $t < $best else 1)"; then
      best=$t; line="$t $u $s $srv $((b1 - b0)) $((g1 - g0))"
    fi
    [ "$rss" -gt "$worst_rss" ] && worst_rss=$rss
  done
  echo "$line $worst_rss"
}

read -r T_D U_D S_D V_D B_D G_D RSS_D < <(best_of dangan "$DANGAN" verify --json --quiet s3://bench/zips)
python3 - "$W/dangan.out" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
assert v["ok"], "dangan verify did not pass"
s = v["storage"]
print(f"bench: dangan storage: {s['requests']} requests, {s['retries']} retries, {s['bytes_read']} bytes read")
PY
read -r T_R U_R S_R V_R B_R G_R RSS_R < <(best_of rclone rclone hashsum sha256 --download gb:bench/zips)
[ "$(wc -l <"$W/rclone.out")" -eq "$ZIPS" ] || { echo "bench: rclone hashed $(wc -l <"$W/rclone.out") objects" >&2; exit 2; }

python3 - "$BYTES" "$(nproc)" "$T_D" "$U_D" "$S_D" "$V_D" "$B_D" "$G_D" "$RSS_D" "$T_R" "$U_R" "$S_R" "$V_R" "$B_R" "$G_R" "$RSS_R" <<'PY'
import sys
b, cores = int(sys.argv[1]), int(sys.argv[2])
td, ud, sd, vd, bd, gd, rd, tr, ur, sr, vr, br, gr, rr = (float(x) for x in sys.argv[3:])
def row(name, t, u, s, v, blocks, gets, r):
    print(f"{name:33} {t:6.2f} s {b / t / 1e6:7.1f} MB/s | client CPU {u:5.2f} user + {s:5.2f} sys"
          f" | server CPU {v:5.2f} | cores busy {(u + s + v) / t:4.2f} of {cores} | peak RSS {r / 1024:6.1f} MiB"
          f" | server read {blocks / b:5.3f}x the bytes in {gets:.0f} GETs")
row("dangan verify s3://", td, ud, sd, vd, bd, gd, rd)
row("rclone hashsum sha256 --download", tr, ur, sr, vr, br, gr, rr)
print(f"per GB read: dangan client {(ud + sd) / b * 1e9:.2f} + server {vd / b * 1e9:.2f} CPU s;"
      f" rclone client {(ur + sr) / b * 1e9:.2f} + server {vr / b * 1e9:.2f} CPU s")
print(f"ratio (rclone time / dangan time): {tr / td:.2f}x   (target >= 1.5x; RSS target <= 128 MiB: {'ok' if rd <= 128 * 1024 else 'OVER'})")
print(f"CPU ratio (rclone client+server / dangan client+server): {(ur + sr + vr) / (ud + sd + vd):.2f}x")
PY
