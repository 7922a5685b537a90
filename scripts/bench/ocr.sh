#!/usr/bin/env bash
# Benchmark (issue 14): OCR'd double-layer PDF/A — dangan against OCRmyPDF on the same pages in the same run.
# ITEMS items × PAGES pages (default 20 × 5 = 100), A4 at 300 dpi, rendered by ImageMagick with Noto Sans
# CJK from known Chinese and English text. dangan: `dangan normalize --access pdf` with OCR (Tesseract chi_sim+eng, pages
# in parallel on the cores) and only the PDF as searchable form. OCRmyPDF: per item, img2pdf (lossless
# wrap of the JPEG pages, OCRmyPDF's own input step) + `ocrmypdf -l chi_sim+eng --output-type pdfa --jobs 2`.
# Prints wall and CPU (user+sys, /usr/bin/time) of both, the ratios (target ≥ 1.5×) and the character error rate of `pdftotext` on each
# side against the source text (whitespace removed). Not a test.
#   ITEMS=4 PAGES=5 scripts/bench/ocr.sh        (DANGAN=… to use a built binary)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
ITEMS="${ITEMS:-20}"
PAGES="${PAGES:-5}"
FONT=/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
if [ -z "${SKIP_INSTALL:-}" ]; then "$ROOT/scripts/install-tools.sh" >/dev/null; fi
# shellcheck source=/dev/null
. "$ROOT/.tools/env.sh"
# DANGAN=path/to/dangan uses that binary instead of building the release one.
if [ -z "${DANGAN:-}" ]; then
  cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml"
  DANGAN="$ROOT/target/release/dangan"
fi
W="$(mktemp -d /tmp/dangan-bench-ocr.XXXXXX)"
trap 'rm -rf "$W"' EXIT
B="$W/batch"; mkdir -p "$B" "$W/truth" "$W/peer"

SENTENCES=(
  "关于成立县脱贫攻坚领导小组的通知"
  "各乡镇人民政府县直各有关单位"
  "为切实加强对脱贫攻坚工作的组织领导经县委研究决定成立领导小组"
  "农村饮水安全工程资金的批复"
  "根据省财政厅下达的专项资金计划现将资金分配方案批复如下"
  "住房安全鉴定书认定书及危房改造前后照片"
  "建档立卡贫困户精准识别精准帮扶精准退出"
  "产业扶贫就业扶贫教育扶贫健康扶贫生态扶贫"
  "Poverty alleviation archive of Xinzhou county"
  "Targeted measures and household records"
  "县扶贫开发办公室二〇一九年三月一日"
  "村级特殊载体类照片档案整理目录"
)
echo "rendering $ITEMS × $PAGES pages (2480×3508, 300 dpi, JPEG q90)…" >&2
printf '档号,题名,分类号,页数\n' > "$B/目录.csv"
k=0
for i in $(seq 1 "$ITEMS"); do
  item=$(printf 'J001-WS_2019-Y-BGS-%04d' "$i")
  printf 'J001-WS·2019-Y-BGS-%04d,测试件 %s,X-1.1.6,%s\n' "$i" "$i" "$PAGES" >> "$B/目录.csv"
  for p in $(seq 1 "$PAGES"); do
    args=(); : > "$W/truth/$item-$p.txt"
    y=300
    for l in $(seq 1 14); do
      s="${SENTENCES[$(( (k + l) % ${#SENTENCES[@]} ))]}"
      args+=(-annotate "+220+$y" "$s"); echo "$s" >> "$W/truth/$item-$p.txt"
      y=$((y + 220))
    done
    k=$((k + 1))
    "$IMAGEMAGICK" -size 2480x3508 xc:white -font "$FONT" -density 300 -pointsize 12 -fill black "${args[@]}" \
      -attenuate 0.2 +noise Gaussian -colorspace Gray -units PixelsPerInch -density 300 -quality 90 \
      "$B/$item-$(printf %04d "$p").jpg"
  done
done

echo "dangan normalize --access pdf (OCR, double-layer PDF/A-2b)…" >&2
# The built-in policy (chi_sim+eng, psm 3, the chi_sim second reading of doubtful lines) with the PDF as the
# only searchable form, as OCRmyPDF makes.
/usr/bin/time -f '%e %U %S %M' -o "$W/dangan.time" \
  "$DANGAN" normalize "$B" --out "$W/dangan" --access pdf --created 2026-01-01T00:00:00Z > "$W/dangan.log" 2>&1

echo "OCRmyPDF (img2pdf + ocrmypdf -l chi_sim+eng --output-type pdfa --jobs 2)…" >&2
cat > "$W/peer.sh" <<'SH'
set -euo pipefail
W="$1"; B="$2"; ITEMS="$3"
for i in $(seq 1 "$ITEMS"); do
  item=$(printf 'J001-WS_2019-Y-BGS-%04d' "$i")
  # img2pdf is OCRmyPDF's own dependency (Debian python3-img2pdf, without its CLI): use the module.
  /usr/bin/python3 -c 'import sys, img2pdf; open(sys.argv[1], "wb").write(img2pdf.convert(sys.argv[2:]))' \
    "$W/peer/$item.in.pdf" "$B/$item"-*.jpg
  ocrmypdf -q -l chi_sim+eng --output-type pdfa --jobs 2 "$W/peer/$item.in.pdf" "$W/peer/$item.pdf"
done
SH
/usr/bin/time -f '%e %U %S %M' -o "$W/peer.time" bash "$W/peer.sh" "$W" "$B" "$ITEMS"

python3 - "$W" "$ITEMS" "$PAGES" <<'PY'
import subprocess, sys
w, items, pages = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
# /usr/bin/time: wall, user, sys (s), max RSS (KiB); CPU = user + sys of the process and its children.
def times(side):
    e, u, s, m = open(f"{w}/{side}.time").read().split()[-4:]
    return float(e), float(u) + float(s), int(m)
(dt, dc, dm), (pt, pc, pm) = times("dangan"), times("peer")

def lev(a, b):
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a):
        cur = [i + 1]
        for j, cb in enumerate(b):
            cur.append(min(prev[j] + (ca != cb), prev[j + 1] + 1, cur[j] + 1))
        prev = cur
    return prev[-1]

def strip(s):
    return "".join(c for c in s if not c.isspace())

def cer(pdf, item):
    ref = "".join(open(f"{w}/truth/{item}-{p}.txt", encoding="utf-8").read() for p in range(1, pages + 1))
    hyp = subprocess.run(["pdftotext", pdf, "-"], capture_output=True, text=True).stdout
    r, h = strip(ref), strip(hyp)
    return lev(r, h), len(r)

res = {}
for side, path in (("dangan", "dangan/access/{}.pdf"), ("ocrmypdf", "peer/{}.pdf")):
    e = n = 0
    for i in range(1, items + 1):
        item = f"J001-WS_2019-Y-BGS-{i:04d}"
        d, k = cer(f"{w}/" + path.format(item), item)
        e += d; n += k
    res[side] = e / n
n = items * pages
print(f"pages: {n} ({items} items × {pages}), A4 300 dpi, chi_sim+eng; {subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} cores")
print(f"dangan   : wall {dt:8.1f} s ({dt / n:.2f} s/page)  CPU {dc:8.1f} s ({dc / n:.2f} s/page)  max RSS {dm // 1024} MiB  CER {res['dangan'] * 100:.2f} %")
print(f"ocrmypdf : wall {pt:8.1f} s ({pt / n:.2f} s/page)  CPU {pc:8.1f} s ({pc / n:.2f} s/page)  max RSS {pm // 1024} MiB  CER {res['ocrmypdf'] * 100:.2f} %")
print(f"ratio    : wall {pt / dt:.2f}×, CPU {pc / dc:.2f}× (target ≥ 1.5× at an equal or lower CER)")
PY
