#!/usr/bin/env bash
# E-mail benchmark (issue 17): an MBOX of N generated messages (Python's `mailbox`; every tenth with a small
# PDF-like attachment, a third with GBK bodies) → per-message EML + HTML derivatives, dangan against
# mailbagit (`-i mbox -d eml html`) on the same input in the same run. Prints the ratio and peak RSS; not a
# timed test. No tool here writes PST, so PST is not measured (see the issue).
#
#   scripts/bench/email.sh                 # N=20000; needs scripts/install-tools.sh (MAILBAGIT)
#   N=2000 DANGAN=target/debug/dangan scripts/bench/email.sh
#
# Targets: dangan >= 3x mailbagit's wall time; dangan's peak RSS <= 256 MiB.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
N="${N:-20000}"
if [ -z "${MAILBAGIT:-}" ] && [ -f "$ROOT/.tools/env.sh" ]; then . "$ROOT/.tools/env.sh"; fi
MAILBAGIT="${MAILBAGIT:?run scripts/install-tools.sh first (MAILBAGIT)}"
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "bench: $TIME missing (Debian package 'time')" >&2; exit 2; }
if [ -z "${DANGAN:-}" ]; then
  (cd "$ROOT" && cargo build --release --quiet)
  DANGAN="$ROOT/target/release/dangan"
fi

W="$(mktemp -d "${BENCH_DIR:-/tmp}/dangan-bench-email.XXXXXX")"
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/in" "$W/mb"

python3 - "$W/in/box.mbox" "$N" <<'PY'
import mailbox, sys
from email.message import EmailMessage
path, n = sys.argv[1], int(sys.argv[2])
box = mailbox.mbox(path, create=True)
box.lock()
for i in range(n):
    m = EmailMessage()
    m["From"] = f"张三{i % 50} <sender{i % 50}@example.cn>"
    m["To"] = "li@example.cn"
    m["Subject"] = f"关于扶贫资金的通知 {i}"
    m["Date"] = f"Mon, 6 May 2019 09:{i % 60:02d}:00 +0800"
    m["Message-ID"] = f"<{i}@example.cn>"
    body = f"请各村于五月底前上报扶贫资金使用情况。第 {i} 号。\n" * 8
    if i % 3 == 0:
        m.set_content(body, charset="gbk", cte="base64")
    else:
        m.set_content(body)
    if i % 10 == 0:
        m.add_attachment(b"%PDF-1.4\n" + bytes(range(256)) * 8, maintype="application",
                         subtype="pdf", filename=f"表{i}.pdf")
    box.add(m)
box.flush()
box.unlock()
PY
echo "bench: $(du -h "$W/in/box.mbox" | cut -f1) MBOX, $N messages; machine shared with other jobs ($(nproc) cores)"

run() { # name, then the command; prints wall seconds and peak RSS (KiB)
  local name="$1"
  shift
  "$TIME" -f "%e %M" -o "$W/$name.time" "$@" >"$W/$name.log" 2>&1 || { tail -n 20 "$W/$name.log" >&2; exit 1; }
  read -r secs rss <"$W/$name.time"
  printf '%-10s %8.2f s  %8d KiB peak RSS\n' "$name" "$secs" "$rss"
  echo "$secs $rss" >"$W/$name.res"
}

run dangan "$DANGAN" normalize "$W/in" --out "$W/dangan-out"
run mailbagit "$MAILBAGIT" "$W/in/box.mbox" -i mbox -d eml html -m "$W/mb/bag" -k
d_eml=$(find "$W/dangan-out/preservation" -name '*.eml' | wc -l)
d_html=$(find "$W/dangan-out/access" -name '*.html' | wc -l)
m_eml=$(find "$W/mb/bag" -name '*.eml' | wc -l)
m_html=$(find "$W/mb/bag" -name '*.html' | wc -l)
echo "derivatives: dangan $d_eml EML + $d_html HTML (+ index.csv/json, attachments); mailbagit $m_eml EML + $m_html HTML (+ bag manifests)"
read -r ds drss <"$W/dangan.res"
read -r ms _ <"$W/mailbagit.res"
python3 -c "import sys; d,m,r=map(float,sys.argv[1:]); print(f'ratio: dangan {m/d:.1f}x mailbagit (target >= 3x); dangan peak RSS {r/1024:.0f} MiB (target <= 256 MiB)')" "$ds" "$ms" "$drss"
