#!/usr/bin/env bash
# The pkc command as a user meets it: help, version, exit codes, and
# `pkc id` with every way of choosing the data directory.
set -u
PKC=${PKC_BIN:?PKC_BIN must name the pkc binary}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok()   { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
expect_eq() { [ "$1" = "$2" ] && ok || fail "$3: got '$1', want '$2'"; }

# Help and version.
out=$("$PKC" --help); rc=$?
expect_eq "$rc" 0 "--help exit"
grep -q "^Usage: pkc" <<<"$out" && ok || fail "--help has no usage line"
grep -q "^  id " <<<"$out" && ok || fail "--help does not list the id command"
want_version=$(sed -n 's/^#define PKC_VERSION "\(.*\)"/\1/p' "$PKC_SOURCE_DIR/include/pkc.h")
expect_eq "$("$PKC" --version)" "pkc $want_version" "--version"
"$PKC" help id | grep -q "^Usage: pkc id" && ok || fail "help id"
"$PKC" id --help | grep -q -- "--json" && ok || fail "id --help"

# Usage errors exit 2 with a message on stderr and nothing on stdout.
for args in "frobnicate" "--no-such-option" "id --bogus" "id extra" "--log-level loud id" "help nope"; do
  out=$("$PKC" $args 2>"$tmp/err"); rc=$?
  expect_eq "$rc" 2 "pkc $args exit"
  expect_eq "$out" "" "pkc $args stdout"
  [ -s "$tmp/err" ] && ok || fail "pkc $args printed no error"
done

# --data: created on first use with a private key file, stable afterwards.
d="$tmp/explicit"
id1=$("$PKC" id --data "$d" 2>"$tmp/err"); rc=$?
expect_eq "$rc" 0 "id --data exit"
grep -q "created a new identity" "$tmp/err" && ok || fail "first use does not say it created an identity"
[[ "$id1" =~ ^pkc1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{38}$ ]] && ok || fail "peer id format: $id1"
expect_eq "$(stat -c %a "$d/identity.key")" 600 "identity.key mode"
expect_eq "$(stat -c %a "$d")" 700 "data dir mode"
id2=$("$PKC" --data "$d" id 2>"$tmp/err")
expect_eq "$id2" "$id1" "second run, global --data"
[ -s "$tmp/err" ] && fail "second run printed to stderr: $(cat "$tmp/err")" || ok
json=$("$PKC" id --json --data "$d")
node -e '
  const j = JSON.parse(process.argv[1]);
  if (j.peer_id !== process.argv[2] || j.created !== false || !/^[0-9a-f]{64}$/.test(j.public_key) ||
      j.identity_file !== process.argv[3] + "/identity.key") process.exit(1)' "$json" "$id1" "$d" \
  && ok || fail "id --json: $json"

# PKC_DATA, then XDG_DATA_HOME, then HOME.
expect_eq "$(PKC_DATA="$d" "$PKC" id 2>/dev/null)" "$id1" "PKC_DATA"
expect_eq "$(PKC_DATA="$d" "$PKC" id --data "$tmp/other" 2>/dev/null)" \
          "$(env -u PKC_DATA "$PKC" id --data "$tmp/other" 2>/dev/null)" "--data beats PKC_DATA"
env -u PKC_DATA XDG_DATA_HOME="$tmp/xdg" HOME="$tmp/home" "$PKC" id >/dev/null 2>&1
[ -f "$tmp/xdg/pkc/identity.key" ] && ok || fail "XDG_DATA_HOME not used"
env -u PKC_DATA -u XDG_DATA_HOME HOME="$tmp/home" "$PKC" id >/dev/null 2>&1
[ -f "$tmp/home/.local/share/pkc/identity.key" ] && ok || fail "HOME fallback not used"
env -u PKC_DATA XDG_DATA_HOME=relative HOME="$tmp/home2" "$PKC" id >/dev/null 2>&1
[ -f "$tmp/home2/.local/share/pkc/identity.key" ] && ok || fail "relative XDG_DATA_HOME not ignored"

# A key others can read is refused, with the fix in the message.
chmod 644 "$d/identity.key"
out=$("$PKC" id --data "$d" 2>"$tmp/err"); rc=$?
expect_eq "$rc" 1 "readable key exit"
grep -q "chmod 600" "$tmp/err" && ok || fail "readable key message: $(cat "$tmp/err")"
chmod 600 "$d/identity.key"

# A damaged key is an error, never silently replaced.
seed=$(sed -n 's/^seed //p' "$d/identity.key")
[ "${seed:0:1}" = A ] && repl=B || repl=A
sed -i "s/^seed ./seed $repl/" "$d/identity.key"
"$PKC" id --data "$d" >/dev/null 2>"$tmp/err"; rc=$?
expect_eq "$rc" 1 "damaged key exit"
grep -q "identity.key" "$tmp/err" && ok || fail "damaged key message names no file"

# Without a command: identity and help (what `make run` shows).
out=$("$PKC" --data "$tmp/run")
grep -q "^peer id: pkc1" <<<"$out" && ok || fail "no-command output lacks the peer id"
grep -q "^Usage: pkc" <<<"$out" && ok || fail "no-command output lacks the help"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
