#!/usr/bin/env bash
# Benchmark (issue 14): OCR'd double-layer PDF/A — dangan against OCRmyPDF on the same pages in the same run.
# ITEMS items × PAGES pages (default 20 × 5 = 100), A4 at 300 dpi, rendered by ImageMagick with Noto Sans
# CJK from known Chinese and English text (mild Gaussian noise with a fixed seed per page, so every run
# reads the same pixels). dangan: `dangan normalize --access pdf` with OCR (Tesseract chi_sim+eng, pages in
# parallel on the cores) and only the PDF as searchable form. OCRmyPDF: per item, img2pdf (lossless wrap of
# the JPEG pages, OCRmyPDF's own input step) + `ocrmypdf -l chi_sim+eng --output-type pdfa --jobs 2`.
# Prints wall and CPU (user+sys, /usr/bin/time) of both, the ratios (target ≥ 1.5×) and the character
# error rate (CER) of `pdftotext` on each side against the source text, then per page the CER of both and
# the errors of each (ground truth → OCR), for the pages where either side errs. Not a test.
#
# The CER, the same for both sides (ocr::cer and tests/ocr.rs fold the same way): each page is read on its
# own (`pdftotext -f p -l p`); both texts are folded — full-width ASCII forms U+FF01–FF5E to ASCII, the
# ideographic space to a space (a search index does the same, so "，" for "," is no error) — and all
# whitespace is removed (Chinese has no word spaces, and the two text layers place spaces differently);
# then Levenshtein distance over the ground truth's characters, summed over pages.
# Where the two sides differ on a page, it is Tesseract reading the same page from pixels decoded by two
# JPEG decoders: dangan's one decode (image 0.25 / zune-jpeg) and OCRmyPDF's (Ghostscript / libjpeg) differ
# by ±1 on ~0.4 % of pixels (both as close to a float IDCT: ~1.2–1.3 % of pixels off by one), and that
# flips borderline glyphs either way ("片"→"卢", "二〇"→"二@〇", "贫"→"灸"): Tesseract run with dangan's own
# arguments on the libjpeg decode reproduces OCRmyPDF's page, on the zune-jpeg decode dangan's.
#
#   ITEMS=4 PAGES=5 scripts/bench/ocr.sh        (DANGAN=… to use a built binary)
#   WORK=/tmp/b scripts/bench/ocr.sh            keep pages and both sides' PDFs in /tmp/b (reused if there)
#   SIDES=dangan WORK=/tmp/b …                  run only dangan (or only `peer`); the other side's PDFs
#                                               already in WORK are scored, its timing reused if present
#   SIDES=none WORK=/tmp/b …                    only score what is in WORK (the CER needs no quiet machine)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
ITEMS="${ITEMS:-20}"
PAGES="${PAGES:-5}"
SIDES="${SIDES:-dangan peer}"
FONT=/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
if [ -z "${SKIP_INSTALL:-}" ]; then "$ROOT/scripts/install-tools.sh" >/dev/null; fi
# shellcheck source=/dev/null
. "$ROOT/.tools/env.sh"
runs() { [[ " $SIDES " == *" $1 "* ]]; }
# DANGAN=path/to/dangan uses that binary instead of building the release one.
if runs dangan && [ -z "${DANGAN:-}" ]; then
  cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml"
  DANGAN="$ROOT/target/release/dangan"
fi
if [ -n "${WORK:-}" ]; then
  W="$WORK"; mkdir -p "$W"
else
  W="$(mktemp -d /tmp/dangan-bench-ocr.XXXXXX)"
  trap 'rm -rf "$W"' EXIT
fi
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
    jpg="$B/$item-$(printf %04d "$p").jpg"
    # A kept WORK reuses its pages (the same seed gives the same pixels anyway).
    [ -s "$jpg" ] && continue
    "$IMAGEMAGICK" -seed "$k" -size 2480x3508 xc:white -font "$FONT" -density 300 -pointsize 12 -fill black \
      "${args[@]}" -attenuate 0.2 +noise Gaussian -colorspace Gray -units PixelsPerInch -density 300 \
      -quality 90 "$jpg"
  done
done

if runs dangan; then
  echo "dangan normalize --access pdf (OCR, double-layer PDF/A-2b)…" >&2
  rm -rf "$W/dangan"
  # The built-in policy (chi_sim+eng, psm 3, the chi_sim second reading of doubtful lines) with the PDF as
  # the only searchable form, as OCRmyPDF makes.
  /usr/bin/time -f '%e %U %S %M' -o "$W/dangan.time" \
    "$DANGAN" normalize "$B" --out "$W/dangan" --access pdf --created 2026-01-01T00:00:00Z > "$W/dangan.log" 2>&1
fi

if runs peer; then
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
fi

python3 - "$W" "$ITEMS" "$PAGES" <<'PY'
import difflib, os, subprocess, sys
w, items, pages = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
n = items * pages
print(f"pages: {n} ({items} items × {pages}), A4 300 dpi, chi_sim+eng; "
      f"{subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} cores")

# /usr/bin/time: wall, user, sys (s), max RSS (KiB); CPU = user + sys of the process and its children.
def times(side):
    f = f"{w}/{side}.time"
    v = open(f).read().split()[-4:] if os.path.exists(f) else []
    if len(v) < 4:  # not run, or still running
        return None
    e, u, s, m = v
    return float(e), float(u) + float(s), int(m)

def fold(s):
    # The one normalization, for the ground truth and both sides alike (see the head of this script).
    out = []
    for c in s:
        o = ord(c)
        if 0xFF01 <= o <= 0xFF5E:
            c = chr(o - 0xFEE0)
        elif o == 0x3000:
            c = " "
        if not c.isspace():
            out.append(c)
    return "".join(out)

def lev(a, b):
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a):
        cur = [i + 1]
        for j, cb in enumerate(b):
            cur.append(min(prev[j] + (ca != cb), prev[j + 1] + 1, cur[j] + 1))
        prev = cur
    return prev[-1]

def errors(r, h):
    # The edits, ground truth → OCR, with a character of context: "县[直→盲]各", "[+,]", "[-的]".
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, r, h, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        a, b = r[i1:i2], h[j1:j2]
        mid = f"[{a}→{b}]" if op == "replace" else (f"[+{b}]" if op == "insert" else f"[-{a}]")
        out.append(f"{r[max(0, i1 - 2):i1]}{mid}{r[i2:i2 + 2]}")
    return " ".join(out)

SIDES = (("dangan", "dangan/access/{}.pdf"), ("ocrmypdf", "peer/{}.pdf"))
per = {}  # (item, page) -> {side: (dist, len, errors)}
tot = {}
for side, path in SIDES:
    e = k = 0
    for i in range(1, items + 1):
        item = f"J001-WS_2019-Y-BGS-{i:04d}"
        pdf = f"{w}/" + path.format(item)
        if not os.path.exists(pdf):
            e = None
            break
        for p in range(1, pages + 1):
            r = fold(open(f"{w}/truth/{item}-{p}.txt", encoding="utf-8").read())
            h = fold(subprocess.run(["pdftotext", "-f", str(p), "-l", str(p), pdf, "-"],
                                    capture_output=True, text=True).stdout)
            d = lev(r, h)
            per.setdefault((item, p), {})[side] = (d, len(r), errors(r, h) if d else "")
            e += d; k += len(r)
    tot[side] = None if e is None else (e, k)

t = {"dangan": times("dangan"), "ocrmypdf": times("peer")}
for side, _ in SIDES:
    tm, c = t[side], tot[side]
    line = f"{side:9}:"
    if tm:
        line += f" wall {tm[0]:8.1f} s ({tm[0] / n:.2f} s/page)  CPU {tm[1]:8.1f} s ({tm[1] / n:.2f} s/page)  max RSS {tm[2] // 1024} MiB "
    line += f" CER {c[0] / c[1] * 100:.3f} % ({c[0]} of {c[1]} characters)" if c else "  no output"
    print(line)
if t["dangan"] and t["ocrmypdf"]:
    (dt, dc, _), (pt, pc, _) = t["dangan"], t["ocrmypdf"]
    print(f"ratio    : wall {pt / dt:.2f}×, CPU {pc / dc:.2f}× (target ≥ 1.5× at an equal or lower CER)")
print("per page (pages where either side errs): CER dangan | CER ocrmypdf; errors as ground truth → OCR")
for (item, p), v in sorted(per.items()):
    if not any(x[0] for x in v.values()):
        continue
    cell = lambda s: f"{v[s][0] / v[s][1] * 100:5.2f} %" if s in v else "  —   "
    print(f"  {item} p{p}: {cell('dangan')} | {cell('ocrmypdf')}")
    for side, _ in SIDES:
        if side in v and v[side][0]:
            print(f"      {side:8}: {v[side][2]}")
PY
