#!/usr/bin/env bash
# pkc id export / import as a user meets them: round trips with and without a
# passphrase, the file's mode, refusals (wrong passphrase, altered text, an
# existing identity, no terminal for a passphrase), and exit statuses.
set -u
PKC=${PKC_BIN:?PKC_BIN must name the pkc binary}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok()   { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
expect_eq() { [ "$1" = "$2" ] && ok || fail "$3: got '$1', want '$2'"; }
cd "$tmp"

id=$("$PKC" id --data a 2>/dev/null)
printf 'correct horse\n' > pass
printf 'wrong horse\n' > wrong

# Encrypted (small Argon2id parameters keep the sanitizer build quick; the
# defaults are exercised once below).
"$PKC" id export --data a --passphrase-file pass --kdf-ops 1 --kdf-memory 64 --out ex.txt
expect_eq "$?" 0 "export exit"
expect_eq "$(stat -c %a ex.txt)" 600 "export file mode"
expect_eq "$(head -n 1 ex.txt)" "pkc-identity-export-v1" "export header"
expect_eq "$(sed -n 2p ex.txt)" "peer-id $id" "export names the peer"
grep -q "^kdf argon2id 1 64 " ex.txt && ok || fail "kdf line: $(sed -n 3p ex.txt)"
seed=$(sed -n 's/^seed //p' a/identity.key)
grep -q -- "$seed" ex.txt && fail "the seed is in clear in an encrypted export" || ok

got=$("$PKC" id import ex.txt --data b --passphrase-file pass 2>"$tmp/err")
expect_eq "$?" 0 "import exit"
expect_eq "$got" "$id" "imported id"
expect_eq "$("$PKC" id --data b)" "$id" "pkc id after import"
expect_eq "$(stat -c %a b/identity.key)" 600 "imported key mode"
cmp -s a/identity.key b/identity.key && ok || fail "identity.key differs after the round trip"

# Never overwritten: neither the export file nor an identity.
"$PKC" id export --data a --passphrase-file pass --kdf-ops 1 --kdf-memory 64 --out ex.txt 2>err
expect_eq "$?" 1 "export over an existing file"
out=$("$PKC" id import ex.txt --data b --passphrase-file pass 2>err); rc=$?
expect_eq "$rc" 1 "import over an identity"
grep -q "never replaces" err && ok || fail "import over an identity: $(cat err)"
expect_eq "$out" "" "nothing on stdout after a refusal"

# Wrong passphrase, altered text: refused, nothing written.
"$PKC" id import ex.txt --data c --passphrase-file wrong 2>err
expect_eq "$?" 1 "wrong passphrase exit"
grep -q "wrong passphrase" err && ok || fail "wrong passphrase message: $(cat err)"
[ -e c/identity.key ] && fail "a failed import wrote an identity" || ok
sed 's/^kdf argon2id 1 64/kdf argon2id 1 65/' ex.txt > altered.txt
"$PKC" id import altered.txt --data c --passphrase-file pass 2>err
expect_eq "$?" 1 "altered export exit"
printf 'hello\n' | "$PKC" id import --data c 2>err
expect_eq "$?" 1 "junk import exit"
grep -q "pkc-identity-export-v1" err && ok || fail "junk import message: $(cat err)"

# No passphrase file and no terminal: a clear error, not a hang.
"$PKC" id import ex.txt --data c </dev/null 2>err
expect_eq "$?" 1 "import without a passphrase source"
grep -q -- "--passphrase-file" err && ok || fail "no-terminal message: $(cat err)"

# In clear, through a pipe; an identity.key file imports too.
expect_eq "$("$PKC" id export --data a --no-passphrase | "$PKC" id import --data d 2>/dev/null)" \
          "$id" "clear export through a pipe"
expect_eq "$("$PKC" id import a/identity.key --data e 2>/dev/null)" "$id" "identity.key import"

# The default Argon2id parameters, once.
"$PKC" id export --data a --passphrase-file pass > dflt.txt
grep -q "^kdf argon2id 3 65536 " dflt.txt && ok || fail "default kdf: $(sed -n 3p dflt.txt)"
expect_eq "$("$PKC" id import dflt.txt --data f --passphrase-file pass 2>/dev/null)" "$id" \
          "default parameters round trip"

# Usage errors exit 2.
for args in "id export extra" "id import a b" "id export --json" "id import --no-passphrase" \
            "id --out x" "id export --no-passphrase --passphrase-file pass" \
            "id export --kdf-ops many"; do
  "$PKC" $args --data a >/dev/null 2>&1
  expect_eq "$?" 2 "pkc $args"
done
"$PKC" id export --data a --passphrase-file pass --kdf-memory 4 >/dev/null 2>err
expect_eq "$?" 1 "kdf memory below the minimum"
"$PKC" id export --data nowhere --no-passphrase >/dev/null 2>err
expect_eq "$?" 1 "export without an identity"
[ -e nowhere/identity.key ] && fail "export created an identity" || ok

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
