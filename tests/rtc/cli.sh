#!/usr/bin/env bash
# pkc rtc as a user meets it: help, usage errors (status 2), bad input at
# run time (status 1 with a message), and the certificate in the data
# directory.
set -u
PKC=${PKC_BIN:?PKC_BIN must name the pkc binary}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok()   { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
expect_eq() { [ "$1" = "$2" ] && ok || fail "$3: got '$1', want '$2'"; }

"$PKC" --help | grep -q "^  rtc " && ok || fail "pkc --help does not list rtc"
"$PKC" rtc --help | grep -q -- "--listen" && ok || fail "pkc rtc --help"

for args in "rtc" "rtc frob" "rtc echo --open x,bogus" "rtc echo --open x,rtx=1,lifetime=2" \
            "rtc echo --port 0" "rtc echo --timeout -1" "rtc bench --message-size 0" "rtc echo extra"; do
  out=$("$PKC" --data "$tmp/d" $args 2>"$tmp/err" </dev/null); rc=$?
  expect_eq "$rc" 2 "pkc $args exit"
  expect_eq "$out" "" "pkc $args stdout"
  [ -s "$tmp/err" ] && ok || fail "pkc $args printed no error"
done

# Not JSON, the wrong type, a malformed description: status 1, a message
# naming the problem, nothing but JSON on stdout.
run_echo() { printf '%s\n' "$1" | "$PKC" --data "$tmp/d" rtc echo --timeout 10 >"$tmp/out" 2>"$tmp/err"; }
run_echo 'hello'; rc=$?
expect_eq "$rc" 1 "echo with garbage exit"
grep -q "expected a line" "$tmp/err" && ok || fail "garbage: $(cat "$tmp/err")"
run_echo '{"type":"answer","sdp":"v=0"}'; rc=$?
expect_eq "$rc" 1 "echo given an answer exit"
grep -q "expected an offer" "$tmp/err" && ok || fail "wrong type: $(cat "$tmp/err")"
run_echo '{"type":"offer","sdp":"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"}'; rc=$?
expect_eq "$rc" 1 "echo with a bad offer exit"
grep -q "no data channel section" "$tmp/err" && ok || fail "bad offer: $(cat "$tmp/err")"
if grep -qv '^{' "$tmp/out"; then fail "stdout has non-JSON lines"; else ok; fi

# The certificate: created once, mode 0600, reused.
[ -f "$tmp/d/dtls-cert.pem" ] && ok || fail "no dtls-cert.pem"
expect_eq "$(stat -c %a "$tmp/d/dtls-cert.pem")" 600 "dtls-cert.pem mode"
fp1=$("$PKC" --data "$tmp/d" rtc echo --offer --timeout 1 </dev/null 2>/dev/null | head -1 | grep -o 'a=fingerprint:[^\\]*')
fp2=$("$PKC" --data "$tmp/d" rtc echo --offer --timeout 1 </dev/null 2>/dev/null | head -1 | grep -o 'a=fingerprint:[^\\]*')
[ -n "$fp1" ] && [ "$fp1" = "$fp2" ] && ok || fail "fingerprint not stable: '$fp1' '$fp2'"
chmod 644 "$tmp/d/dtls-cert.pem"
"$PKC" --data "$tmp/d" rtc echo --offer --timeout 1 </dev/null >/dev/null 2>"$tmp/err"; rc=$?
expect_eq "$rc" 1 "readable certificate exit"
grep -q "chmod 600" "$tmp/err" && ok || fail "readable certificate: $(cat "$tmp/err")"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
