#!/usr/bin/env bash
# Benchmark (not a timed test): validate a 2,000-file SIP with dangan (release) and with commons-ip in the same
# run; same verdict required; prints wall and CPU (user+sys) times and the ratios (target: dangan >= 5x faster).
# The machine is shared: wall times move with its load, CPU times much less.
set -euo pipefail
cd "$(dirname "$0")/../.."
ENV_SH=${DANGAN_TOOLS:-.tools}/env.sh
[ -f "$ENV_SH" ] || ENV_SH=/work/main/.tools/env.sh
# shellcheck disable=SC1090
source "$ENV_SH"
N=${N:-2000}
cargo build --release --quiet
BIN=target/release/dangan
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
BATCH="$WORK/batch"
mkdir -p "$BATCH"
# N small text files, one item each, under one catalog node; 目录.csv names them.
{
  echo "档号,题名,分类号,日期,保管期限,文件名"
  for i in $(seq 1 "$N"); do
    n=$(printf %04d "$i")
    printf '第 %s 件 %s\n' "$i" "$(head -c 48 /dev/urandom | base64)" > "$BATCH/J001-WS_2019-Y-BGS-$n.txt"
    echo "J001-WS·2019-Y-BGS-$n,测试文件 $i,X-1.1.1,2019-01-01,Y,J001-WS_2019-Y-BGS-$n.txt"
  done
} > "$BATCH/目录.csv"
"$BIN" pack "$BATCH" --out "$WORK/out" --id bench-sip --created 2026-01-01T00:00:00Z > /dev/null
SIP="$WORK/out/bench-sip"
echo "package: $(find "$SIP" -type f | wc -l) files, $(du -sh "$SIP" | cut -f1)"

bench() { # $1 = label, $2 = package path
  local t0 t1 t2
  t0=$(date +%s.%N)
  set +e
  /usr/bin/time -f "%U %S" -o "$WORK/dangan.cpu" "$BIN" validate --no-virus-scan --json "$2" > "$WORK/dangan.json"
  set -e
  t1=$(date +%s.%N)
  (cd "$WORK" && /usr/bin/time -f "%U %S" -o "$WORK/cip.cpu" java -jar "$COMMONS_IP_JAR" validate -i "$2" --specification-version 2.2.0 > "$WORK/cip.json")
  t2=$(date +%s.%N)
  echo "== $1"
  python3 - "$WORK/dangan.json" "$WORK/cip.json" "$t0" "$t1" "$t2" "$WORK/dangan.cpu" "$WORK/cip.cpu" <<'PY'
import json, sys
cpu = lambda p: sum(map(float, open(p).read().split()[-2:]))
dc, cc = cpu(sys.argv[6]), cpu(sys.argv[7])
d = json.load(open(sys.argv[1])); c = json.load(open(sys.argv[2]))
t0, t1, t2 = map(float, sys.argv[3:6])
dv = "VALID" if d["accepted"] else "INVALID"; cv = c["summary"]["result"]
rules = sorted({f["rule"] for f in d["findings"] if f["level"] != "info"})
print(f"dangan:     {t1 - t0:6.3f} s  {dv}  ({d['summary']['errors']} errors, {d['summary']['warnings']} warnings {rules})")
print(f"commons-ip: {t2 - t1:6.3f} s  {cv}  ({c['summary']['errors']} errors)")
print(f"ratio: dangan is {(t2 - t1) / (t1 - t0):.1f}x faster (wall); CPU {dc:.2f} s vs {cc:.2f} s = {cc / dc:.1f}x")
for f in [f for f in d["findings"] if f["level"] != "info"][:3]:
    print(f"  {f['level']} [{f['rule']}] {f.get('path', '')}: {f['message']}")
if dv != cv:
    print("VERDICTS DIFFER"); sys.exit(1)
PY
}

bench folder "$SIP"
"$BIN" pack "$BATCH" --out "$WORK/zip" --id bench-sip --created 2026-01-01T00:00:00Z --zip > /dev/null
bench zip "$WORK/zip/bench-sip.zip"
