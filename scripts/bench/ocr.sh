#!/usr/bin/env bash
# Benchmark (issue 14): OCR'd double-layer PDF/A — dangan against OCRmyPDF on the same pages in the same run.
# ITEMS items × PAGES pages (default 20 × 5 = 100), A4 at 300 dpi, rendered by ImageMagick with Noto Sans
# CJK from known Chinese and English text. dangan: `dangan normalize` with OCR (Tesseract chi_sim+eng, pages
# in parallel on the cores) and only the PDF as searchable form. OCRmyPDF: per item, img2pdf (lossless
# wrap of the JPEG pages, OCRmyPDF's own input step) + `ocrmypdf -l chi_sim+eng --output-type pdfa --jobs 2`.
# Prints both wall times, the ratio (target ≥ 1.5×) and the character error rate of `pdftotext` on each
# side against the source text (whitespace removed). Not a test.
#   ITEMS=4 PAGES=2 scripts/bench/ocr.sh
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
ITEMS="${ITEMS:-20}"
PAGES="${PAGES:-5}"
FONT=/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
if [ -z "${SKIP_INSTALL:-}" ]; then "$ROOT/scripts/install-tools.sh" >/dev/null; fi
# shellcheck source=/dev/null
. "$ROOT/.tools/env.sh"
cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml"
DANGAN="$ROOT/target/release/dangan"
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

cat > "$W/pdf-only.toml" <<'TOML'
[ocr]
rules = ["scan-page-tiff", "scan-page-jpeg", "scan-page"]
languages = "chi_sim+eng"
access = ["pdf"]
full_text = false
TOML

echo "dangan normalize (OCR, double-layer PDF/A-2b)…" >&2
t0=$(date +%s.%N)
"$DANGAN" normalize "$B" --out "$W/dangan" --policy "$W/pdf-only.toml" --created 2026-01-01T00:00:00Z > "$W/dangan.log" 2>&1
t1=$(date +%s.%N)

echo "OCRmyPDF (img2pdf + ocrmypdf -l chi_sim+eng --output-type pdfa --jobs 2)…" >&2
t2=$(date +%s.%N)
for i in $(seq 1 "$ITEMS"); do
  item=$(printf 'J001-WS_2019-Y-BGS-%04d' "$i")
  # img2pdf is OCRmyPDF's own dependency (Debian python3-img2pdf, without its CLI): use the module.
  /usr/bin/python3 -c 'import sys, img2pdf; open(sys.argv[1], "wb").write(img2pdf.convert(sys.argv[2:]))' \
    "$W/peer/$item.in.pdf" "$B/$item"-*.jpg
  ocrmypdf -q -l chi_sim+eng --output-type pdfa --jobs 2 "$W/peer/$item.in.pdf" "$W/peer/$item.pdf"
done
t3=$(date +%s.%N)

python3 - "$W" "$ITEMS" "$PAGES" "$t0" "$t1" "$t2" "$t3" <<'PY'
import subprocess, sys
w, items, pages = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
t0, t1, t2, t3 = map(float, sys.argv[4:8])

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
dt, pt = t1 - t0, t3 - t2
print(f"pages: {items * pages} ({items} items × {pages}), A4 300 dpi, chi_sim+eng")
print(f"dangan   : {dt:8.1f} s  ({dt / (items * pages):.2f} s/page)  CER {res['dangan'] * 100:.2f} %")
print(f"ocrmypdf : {pt:8.1f} s  ({pt / (items * pages):.2f} s/page)  CER {res['ocrmypdf'] * 100:.2f} %")
print(f"ratio    : {pt / dt:.2f}× (target ≥ 1.5× at an equal or lower CER)")
PY
