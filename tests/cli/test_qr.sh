#!/usr/bin/env bash
# QR codes (cli/qr.c through `pkc qr`): text -> PNG -> text for short, typical
# and the longest texts; the terminal rendering drawn back into a bitmap and
# read; JPEG "photos" of a code made with ImageMagick (scaled, rotated, noisy,
# blurred, quality 70) read back; and the refusals: no code, two codes,
# truncated PNG and JPEG, text, unsupported formats, huge declared sizes.
set -u
PKC=${PKC_BIN:?PKC_BIN must name the pkc binary}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
command -v convert >/dev/null || { echo "SKIP: ImageMagick (convert) is not installed"; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok()   { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
expect_eq() { [ "$1" = "$2" ] && ok || fail "$3: got '$1', want '$2'"; }

# A deterministic base64url string of n characters (seeded by $2).
b64() { "$PY" -c 'import base64,random,sys; r=random.Random(int(sys.argv[2]))
n=int(sys.argv[1]); s=base64.urlsafe_b64encode(bytes(r.getrandbits(8) for _ in range(n))).decode()
print(s[:n], end="")' "$1" "$2"; }

short="https://pkc.example/j#hi"
url300="https://pkc.example/join#$(b64 275 1)"
long="https://pkc.example/join#$(b64 999 2)"
utf8="chambre à air — 東京 🚲 https://pkc.example/#x"
alnum="HTTPS://PKC.EXAMPLE/J#$(b64 278 3 | tr 'a-z_-' 'A-Z23' | tr -d 0189)"
expect_eq "${#url300}" 300 "the typical URL's length"
expect_eq "$(printf %s "$long" | wc -c)" 1024 "the longest text's length"

# ---- encode -> PNG -> decode ------------------------------------------------
i=0
for text in "$short" "$url300" "$long" "$utf8" "$alnum" "1234567890123"; do
  i=$((i + 1))
  for opts in "" "--grey8" "--module 3 --margin 2" "--level Q"; do
    png="$tmp/rt$i.png"
    # shellcheck disable=SC2086
    if ! "$PKC" qr encode $opts --png "$png" "$text" 2>"$tmp/err"; then
      fail "encode $i ($opts): $(cat "$tmp/err")"
      continue
    fi
    out=$("$PKC" qr decode "$png" 2>"$tmp/err"); rc=$?
    expect_eq "$rc" 0 "decode $i ($opts) exit: $(cat "$tmp/err")"
    expect_eq "$out" "$text" "round trip $i ($opts)"
  done
done
# The PNG format options.
# ihdr FILE: "width height bit-depth colour-type" from the PNG header.
ihdr() { "$PY" -c 'import struct,sys
print(*struct.unpack(">IIBB", open(sys.argv[1],"rb").read()[16:26]))' "$1"; }
"$PKC" qr encode --png "$tmp/a.png" --module 5 --margin 4 "$short"
expect_eq "$(ihdr "$tmp/a.png")" "$(( (25 + 8) * 5 )) $(( (25 + 8) * 5 )) 1 0" \
  "1-bit grey PNG (version 2, 5 px, margin 4)"
"$PKC" qr encode --png "$tmp/a8.png" --grey8 --margin 0 --module 1 "$short"
expect_eq "$(ihdr "$tmp/a8.png")" "25 25 8 0" "--grey8, no margin, 1 px"
# From stdin, with its trailing newline dropped.
printf '%s\n' "$url300" | "$PKC" qr encode --png "$tmp/stdin.png" -
expect_eq "$("$PKC" qr decode "$tmp/stdin.png")" "$url300" "encode from stdin"

# Level and size: M for the 300-character URL (Q needs a larger version),
# Q when it fits the same version; the longest text is version 26.
expect_eq "$("$PKC" qr encode --info --png "$tmp/i.png" "$url300" 2>&1)" \
  "version 13 level M modules 69 cells 77x39" "300-character URL: version, level, terminal size"
# 24 bytes: version 2 at M, whose Q holds 22, so M; 30 bytes: version 3 at
# M and at Q, so Q.
expect_eq "$("$PKC" qr encode --info --png "$tmp/i.png" "$short" 2>&1)" \
  "version 2 level M modules 25 cells 33x17" "24 bytes stay at M"
expect_eq "$("$PKC" qr encode --info --png "$tmp/i.png" "https://pkc.example/join#hello" 2>&1)" \
  "version 3 level Q modules 29 cells 37x19" "30 bytes get Q"
expect_eq "$("$PKC" qr encode --info --png "$tmp/i.png" "$long" 2>&1)" \
  "version 26 level M modules 121 cells 129x65" "longest text"
"$PKC" qr encode --info --level M --png "$tmp/i.png" "$short" 2>&1 | grep -q "level M" && ok \
  || fail "--level M is not kept"
# Alphanumeric mode: the upper-case URL of the same length is smaller.
grep -q "version 10 " <<<"$("$PKC" qr encode --info --png "$tmp/i.png" "$alnum" 2>&1)" && ok \
  || fail "upper-case base32 URL is not in alphanumeric mode"

# Refused texts.
out=$("$PKC" qr encode --png "$tmp/x.png" "$long-" 2>&1); rc=$?
expect_eq "$rc" 1 "1025 bytes: exit"
grep -q "1025 bytes" <<<"$out" && ok || fail "1025 bytes: message '$out'"
[ -e "$tmp/x.png" ] && fail "a refused text left a PNG" || ok
out=$("$PKC" qr encode "" 2>&1); rc=$?
expect_eq "$rc" 1 "empty text: exit"
out=$(printf 'ab\0cd' | "$PKC" qr encode - 2>&1); rc=$?
expect_eq "$rc $out" "1 pkc: qr: a NUL byte at offset 2 of the text" "NUL in the text"
out=$(printf '%s-\n' "$long" | "$PKC" qr encode - 2>&1); rc=$?
expect_eq "$rc $out" "1 pkc: qr: 1025 bytes of text; a QR code here holds 1024" "1025 bytes from stdin"
"$PKC" qr encode --module 0 "$short" >/dev/null 2>&1; expect_eq "$?" 2 "--module 0 is a usage error"
"$PKC" qr encode --level H "$short" >/dev/null 2>&1; expect_eq "$?" 2 "--level H is a usage error"
"$PKC" qr frob >/dev/null 2>&1; expect_eq "$?" 2 "unknown subcommand"
"$PKC" qr encode --png /nonexistent/dir/x.png "$short" 2>"$tmp/err"; rc=$?
expect_eq "$rc" 1 "PNG in a missing directory: exit"
grep -q "No such file" "$tmp/err" && ok || fail "PNG write error: $(cat "$tmp/err")"

# ---- the terminal rendering, read back --------------------------------------
# term2png TEXTFILE INK PNG: draws the half-block text as a bitmap (ANSI SGR
# sequences removed; INK=dark: glyph halves are dark modules, INK=light: they
# are the light ones), one pixel a module, scaled 8x, as the eye would see it.
term2png() {
  "$PY" - "$1" "$2" "$tmp/t.pbm" <<'EOF' || return 1
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
ink_dark = sys.argv[2] == "dark"
halves = {" ": (0, 0), "\u2580": (1, 0), "\u2584": (0, 1), "\u2588": (1, 1)}
rows = []
for line in text.split("\n")[:-1]:
    line = re.sub(r"\x1b\[[0-9;]*m", "", line)
    top, bot = [], []
    for ch in line:
        if ch not in halves:
            sys.exit("unexpected character U+%04X" % ord(ch))
        t, b = halves[ch]
        top.append(t if ink_dark else 1 - t)
        bot.append(b if ink_dark else 1 - b)
    rows += [top, bot]
w = max(len(r) for r in rows)
if any(len(r) != w for r in rows):
    sys.exit("ragged lines")
with open(sys.argv[3], "w") as f:
    f.write("P1\n%d %d\n" % (w, len(rows)))
    for r in rows:
        f.write(" ".join(map(str, r)) + "\n")
EOF
  convert "$tmp/t.pbm" -scale 800% "$3"
}
# max_cols FILE: the widest line in terminal columns (SGR removed).
max_cols() { "$PY" -c 'import re,sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
print(max(len(re.sub(r"\x1b\[[0-9;]*m", "", l)) for l in lines))' "$1"; }

for text in "$short" "$url300"; do
  # Plain (stdout is not a terminal): no escape sequences, glyphs = dark.
  "$PKC" qr encode "$text" >"$tmp/plain.txt"
  grep -q $'\x1b' "$tmp/plain.txt" && fail "plain output has escape sequences" || ok
  term2png "$tmp/plain.txt" dark "$tmp/plain.png" || fail "plain rendering is not half blocks"
  expect_eq "$("$PKC" qr decode "$tmp/plain.png" 2>&1)" "$text" "plain terminal rendering read back"
  # Colour: every line black on white, reset before its newline.
  "$PKC" qr encode --color always "$text" >"$tmp/color.txt"
  lines=$(wc -l <"$tmp/color.txt")
  expect_eq "$(grep -c $'^\x1b\\[30;107m\x1b\\[38;5;16;48;5;231m.*\x1b\\[0m$' "$tmp/color.txt")" "$lines" \
    "colour on every line, reset at its end"
  term2png "$tmp/color.txt" dark "$tmp/color.png" || fail "colour rendering is not half blocks"
  expect_eq "$("$PKC" qr decode "$tmp/color.png" 2>&1)" "$text" "colour terminal rendering read back"
  # Inverted plain, for a dark background: glyphs are the light modules.
  "$PKC" qr encode --invert "$text" >"$tmp/inv.txt"
  term2png "$tmp/inv.txt" light "$tmp/inv.png" || fail "inverted rendering is not half blocks"
  expect_eq "$("$PKC" qr decode "$tmp/inv.png" 2>&1)" "$text" "inverted terminal rendering read back"
  cmp -s "$tmp/plain.txt" "$tmp/inv.txt" && fail "--invert changed nothing" || ok
done
# The typical invitation fits an 80-column terminal.
"$PKC" qr encode "$url300" >"$tmp/w.txt"
cols=$(max_cols "$tmp/w.txt")
[ "$cols" -le 80 ] && ok || fail "300-character URL is $cols columns wide"
expect_eq "$cols $(wc -l <"$tmp/w.txt")" "77 39" "300-character URL: columns and lines"
# A quiet zone of 2 reads too (the symbol is then 4 columns narrower).
"$PKC" qr encode --margin 2 "$url300" >"$tmp/m2.txt"
term2png "$tmp/m2.txt" dark "$tmp/m2.png"
expect_eq "$("$PKC" qr decode "$tmp/m2.png" 2>&1)" "$url300" "margin 2 rendering read back"
# Colour only on a terminal and without NO_COLOR (script(1) gives a pty).
if command -v script >/dev/null; then
  script -qec "\"$PKC\" qr encode \"$short\"" /dev/null >"$tmp/tty.txt" </dev/null
  grep -q $'\x1b\\[30;107m' "$tmp/tty.txt" && ok || fail "no colour on a terminal"
  TERM=dumb script -qec "\"$PKC\" qr encode \"$short\"" /dev/null >"$tmp/tty3.txt" </dev/null
  grep -q $'\x1b' "$tmp/tty3.txt" && fail "colour on a dumb terminal" || ok
  NO_COLOR=1 script -qec "\"$PKC\" qr encode \"$short\"" /dev/null >"$tmp/tty2.txt" </dev/null
  grep -q $'\x1b' "$tmp/tty2.txt" && fail "colour on a terminal with NO_COLOR" || ok
fi

# ---- JPEG photos -------------------------------------------------------------
# photo PNG SCALE ROTATE JPG [extra convert options]: a screen photographed.
# The noise is seeded: the same image every run. Measured over seeds 1-10
# (docs/qr.md): the 300-character URL (8 px modules) reads 10/10 at 37% and
# up; the longest text (version 26) reads 10/10 at 50% and up, 7-10/10 at
# 37% (3 px a module), so it is tested from 50%.
photo() {
  local src=$1 scale=$2 rot=$3 out=$4; shift 4
  convert "$src" -seed 1 -background white -rotate "$rot" -resize "$scale%" "$@" \
    -attenuate 1.5 +noise Gaussian -blur 0x0.8 -quality 70 "$out"
}
"$PKC" qr encode --png "$tmp/u.png" "$url300"
"$PKC" qr encode --png "$tmp/l.png" "$long"
for scale in 37 50 100 160; do
  for rot in 3 -4; do
    photo "$tmp/u.png" $scale $rot "$tmp/p.jpg"
    expect_eq "$("$PKC" qr decode "$tmp/p.jpg" 2>&1)" "$url300" \
      "photo of the 300-char URL at $scale% rotated $rot"
  done
  # In colour (YCbCr), low contrast (dark blue-grey on warm white), progressive.
  photo "$tmp/u.png" $scale 5 "$tmp/pc.jpg" -type TrueColor +level-colors '#202838,#e8e0d0' -interlace JPEG
  expect_eq "$(identify -format '%[colorspace] %[interlace]' "$tmp/pc.jpg")" "sRGB JPEG" "colour photo format"
  expect_eq "$("$PKC" qr decode "$tmp/pc.jpg" 2>&1)" "$url300" "colour progressive photo at $scale%"
  [ $scale -ge 50 ] || continue
  photo "$tmp/l.png" $scale 3 "$tmp/pl.jpg"
  expect_eq "$("$PKC" qr decode "$tmp/pl.jpg" 2>&1)" "$long" "photo of the longest text at $scale%"
done
# Seen at an angle (perspective: one side 10% shorter, the top edge tilted).
photo "$tmp/u.png" 60 0 "$tmp/pp.jpg" -virtual-pixel white \
  -distort Perspective "0,0 60,20  616,0 600,0  0,616 0,616  616,616 556,590"
expect_eq "$("$PKC" qr decode "$tmp/pp.jpg" 2>&1)" "$url300" "photo at an angle"
# A photo of the terminal: the colour rendering drawn as the screen shows it.
"$PKC" qr encode --color always "$url300" >"$tmp/screen.txt"
term2png "$tmp/screen.txt" dark "$tmp/screen.png"
photo "$tmp/screen.png" 50 -3 "$tmp/screen.jpg"
expect_eq "$("$PKC" qr decode "$tmp/screen.jpg" 2>&1)" "$url300" "photo of the terminal rendering"
# Black modules on a transparent background whose pixels are black too
# (RGBA 0,0,0,0): read as on white, not as black on black.
convert "$tmp/u.png" -negate -alpha copy -channel RGB -evaluate set 0 +channel "PNG32:$tmp/alpha.png"
expect_eq "$(identify -format '%[pixel:p{0,0}]' "$tmp/alpha.png")" "srgba(0,0,0,0)" \
  "transparent black background"
expect_eq "$("$PKC" qr decode "$tmp/alpha.png" 2>&1)" "$url300" "PNG with a transparent background"
# Light on dark.
convert "$tmp/u.png" -negate "$tmp/neg.png"
expect_eq "$("$PKC" qr decode "$tmp/neg.png" 2>&1)" "$url300" "inverted PNG"
# The same code twice is one code.
convert "$tmp/u.png" "$tmp/u.png" +append "$tmp/twice.png"
expect_eq "$("$PKC" qr decode "$tmp/twice.png" 2>&1)" "$url300" "the same code twice"

# ---- refusals ----------------------------------------------------------------
# refuse FILE WORDS WHAT: exit 1, nothing on stdout, WORDS (a regex) in the message.
refuse() {
  local out rc
  out=$("$PKC" qr decode "$1" 2>"$tmp/err"); rc=$?
  expect_eq "$rc" 1 "$3: exit"
  expect_eq "$out" "" "$3: stdout"
  grep -Eq "$2" "$tmp/err" && ok || fail "$3: message '$(cat "$tmp/err")' lacks /$2/"
}
refuse "$tmp/missing.png" "missing.png: No such file or directory" "missing file"
refuse "$tmp" "not a regular file" "a directory"
convert -seed 1 -size 300x200 plasma:fractal "$tmp/noqr.png"
refuse "$tmp/noqr.png" "no QR code found in the 300x200 image" "PNG without a QR code"
"$PKC" qr encode --png "$tmp/s.png" "$short"
convert "$tmp/u.png" "$tmp/s.png" -background white -gravity center +append "$tmp/two.png"
refuse "$tmp/two.png" "2 different QR codes" "two different codes"
head -c $(( $(stat -c %s "$tmp/u.png") / 2 )) "$tmp/u.png" >"$tmp/trunc.png"
refuse "$tmp/trunc.png" "PNG: " "truncated PNG"
photo "$tmp/u.png" 100 3 "$tmp/full.jpg"
head -c $(( $(stat -c %s "$tmp/full.jpg") * 2 / 3 )) "$tmp/full.jpg" >"$tmp/trunc.jpg"
refuse "$tmp/trunc.jpg" "JPEG: the file is truncated" "truncated JPEG"
head -c 100 "$tmp/full.jpg" >"$tmp/head.jpg"
refuse "$tmp/head.jpg" "JPEG: the file is truncated" "JPEG cut inside its header"
head -c $(( $(stat -c %s "$tmp/full.jpg") - 2 )) "$tmp/full.jpg" >"$tmp/noeoi.jpg"
refuse "$tmp/noeoi.jpg" "JPEG: the file is truncated" "JPEG without its end marker"
convert "$tmp/s.png" "$tmp/s.pgm"
refuse "$tmp/s.pgm" "a PNM image" "PGM"
printf 'P2P notes\n' >"$tmp/p2p.txt"
refuse "$tmp/p2p.txt" "not a PNG or JPEG image" "a text starting with P2"
echo "https://pkc.example/j#this-is-text" >"$tmp/text.png"
refuse "$tmp/text.png" "not a PNG or JPEG image" "a text file"
: >"$tmp/empty.png"
refuse "$tmp/empty.png" "empty file" "an empty file"
convert "$tmp/s.png" "$tmp/s.gif"
refuse "$tmp/s.gif" "a GIF image; PNG and JPEG are read" "GIF"
convert "$tmp/s.png" -colorspace CMYK "$tmp/cmyk.jpg"
refuse "$tmp/cmyk.jpg" "CMYK JPEG" "CMYK JPEG"
# Huge declared sizes: a valid PNG header of 20000x20000 (400 megapixels)
# and a JPEG whose frame header says 65000x65000; both refused from the
# header, before the pixels are allocated (ASan would see a 400 MB malloc).
"$PY" - "$tmp/huge.png" <<'EOF'
import struct, sys, zlib
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
ihdr = struct.pack(">IIBBBBB", 20000, 20000, 8, 0, 0, 0, 0)
data = zlib.compress(b"\0" * 20001 * 4)
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
open(sys.argv[1], "wb").write(png)
EOF
refuse "$tmp/huge.png" "PNG image of 20000x20000 pixels; at most 48000000" "PNG of 20000x20000"
"$PY" - "$tmp/full.jpg" "$tmp/huge.jpg" <<'EOF'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
i = 2
while b[i] == 0xFF and b[i + 1] not in (0xC0, 0xC1, 0xC2):
    i += 2 + (b[i + 2] << 8 | b[i + 3])
assert b[i] == 0xFF, "no frame header"
b[i + 5:i + 9] = bytes([65000 >> 8, 65000 & 255, 65000 >> 8, 65000 & 255])
open(sys.argv[2], "wb").write(b)
EOF
refuse "$tmp/huge.jpg" "JPEG image of 65000x65000 pixels" "JPEG of 65000x65000"
# 7000x7000 = 49 megapixels, just over the cap, is refused; the check is on
# pixels, not on the file (this one is a few hundred kilobytes).
convert -size 7000x7000 xc:white "$tmp/big.png"
refuse "$tmp/big.png" "7000x7000 pixels" "PNG of 49 megapixels"

echo "qr: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
