#!/usr/bin/env bash
# net.doh (issue 13, items 1-2, 4): DNS seeds against BIND 9.18 in a network
# namespace (tests/net/bind.sh): DoH over HTTP/2 and RFC 2136 updates with
# TSIG. On a bridge (tests/node/lib.sh): the DNS server at 10.92.0.53, a node
# `a` at 10.92.0.1 (LAN discovery off), and a resolver that answers wrongly
# (tests/net/bad_doh.py, HTTPS/1.1) at 10.92.0.1:8443.
#   publish: unsigned and with a wrong key, refused with a clear error; with
#     the key, published; the node republishes (TTL 2 s: every second, the
#     sequence grows, the old record is deleted); per-peer names;
#   lookup: GET and POST find a's record (peer, room, address), the cache
#     answers a second lookup of the same name, the next resolver is asked
#     when the first is down, a certificate from another CA or the system's
#     CAs are refused, every crafted answer and a slow resolver (timeout) are
#     no answer with their reason, never a crash.
. "$(dirname "$0")/../node/lib.sh"
. "$(dirname "$0")/bind.sh"
command -v named > /dev/null || { echo "skipped: needs BIND 9 (named)"; exit 77; }
command -v jq > /dev/null || { echo "skipped: needs jq"; exit 77; }
t0=$(now_ms)

zone=seeds.test
make_bridge
dns="pkn${tag}-dns"
on_bridge "$dns" 53
on_bridge "pkn${tag}-1" 1
cleanups+=("bind_stop '$tmp/bind'")
bind_start "$dns" "$tmp/bind" 10.92.0.53 "$zone" || fail "BIND did not start"
pids+=("$(cat "$tmp/bind/named.run")")
url=$(bind_url 10.92.0.53)
ca="$tmp/bind/ca.pem"
phase "BIND serves $zone (DoH on 10.92.0.53:443)"

start a "pkn${tag}-1" --no-lan --no-local --room "doh test room phrase"
ida=$(id_of a)
room=$(jq -r 'select(.event == "up") | .rooms[0].id' "$tmp/a.out" | tail -n 1)

# lookup ARGS...: `pkc dns lookup --json` from a's namespace.
lookup() { in_ns "pkn${tag}-1" "$PKC" dns lookup --json --cafile "$ca" "$@"; }

# ---- publish -------------------------------------------------------------
pkc a dns publish --domain "$zone" --server 10.92.0.53:53 > "$tmp/p0.out" 2> "$tmp/p0.err" \
  && fail "an unsigned update was accepted"
grep -q "refused the update" "$tmp/p0.err" || fail "unsigned: no clear error: $(cat "$tmp/p0.err")"
tsig-keygen -a hmac-sha256 pkc-update > "$tmp/wrong.key"
pkc a dns publish --domain "$zone" --server 10.92.0.53:53 --tsig-key "$tmp/wrong.key" \
  > "$tmp/p1.out" 2> "$tmp/p1.err" && fail "an update signed with a wrong key was accepted"
grep -q "not published" "$tmp/p1.err" || fail "wrong key: no clear error: $(cat "$tmp/p1.err")"
phase "unsigned and wrongly signed updates refused: $(tail -n 1 "$tmp/p1.err")"
lookup "$zone" --resolver "$url" > "$tmp/l0.json" 2> "$tmp/l0.err" && fail "a refused update is there"
jq -e '.code == "PKC_ERR_NOT_FOUND"' "$tmp/l0.json" > /dev/null || fail "lookup: $(cat "$tmp/l0.json")"

pkc a dns publish --domain "$zone" --server 10.92.0.53:53 --tsig-key "$tmp/bind/tsig.key" \
  --ttl 2 --json > "$tmp/p2.out" 2> "$tmp/p2.err" || fail "publish: $(cat "$tmp/p2.err")"
jq -e --arg o "_pkc.$zone" '.ok and .owner == $o and .next_s == 1' "$tmp/p2.out" > /dev/null \
  || fail "publish: $(cat "$tmp/p2.out")"
phase "published with the TSIG key"

# ---- lookup: GET, POST, what a record says ---------------------------------
has_a() { # FILE: a's record, its room and address, exactly one record
  jq -e --arg id "$ida" --arg room "$room" '.seeds | length == 1 and .[0].peer_id == $id
    and .[0].room == $room and (.[0].addresses | map(select(startswith("udp:10.92.0.1:")))
    | length) == 1 and .[0].ttl <= 2' "$1" > /dev/null
}
lookup "$zone" --resolver "$url" --log-level debug > "$tmp/get.json" 2> "$tmp/get.err" \
  || fail "GET: $(cat "$tmp/get.err")"
has_a "$tmp/get.json" || fail "GET: $(cat "$tmp/get.json")"
grep -q "$url: HTTP/2 200" "$tmp/get.err" || fail "GET: not over HTTP/2: $(cat "$tmp/get.err")"
lookup "$zone" --resolver "$url" --post > "$tmp/post.json" 2> "$tmp/post.err" \
  || fail "POST: $(cat "$tmp/post.err")"
has_a "$tmp/post.json" || fail "POST: $(cat "$tmp/post.json")"
in_ns "pkn${tag}-1" "$PKC" dns lookup --cafile "$ca" "$zone" --resolver "$url" > "$tmp/text.out" \
  || fail "lookup (text)"
grep -q "^$zone: 1 seed$" "$tmp/text.out" && grep -q "^  $ida  room $room  sequence " "$tmp/text.out" \
  && grep -q "^    udp:10.92.0.1:" "$tmp/text.out" || fail "lookup (text): $(cat "$tmp/text.out")"
phase "GET and POST find a's record"

# Republished every second (TTL 2): the sequence grows; the shared name
# holds one record of a (the old one deleted by each update).
seq_now() { lookup "$zone" --resolver "$url" 2>/dev/null | jq -r '.seeds[0].sequence'; }
s1=$(jq -r '.seeds[0].sequence' "$tmp/get.json")
grew() { local s; s=$(seq_now); [ -n "$s" ] && [ "$s" != null ] && [ "$s" -gt "$s1" ]; }
wait_until 15 "a newer record (republished)" grew
s2=$(seq_now)
wait_until 15 "a still newer record" eval '[ "$(seq_now)" -gt "$s2" ] 2>/dev/null'
lookup "$zone" --resolver "$url" > "$tmp/one.json" || fail "lookup after republishing"
has_a "$tmp/one.json" || fail "more than one record of a after republishing: $(cat "$tmp/one.json")"
phase "republished every TTL/2: sequence $s1 -> $s2 -> ..., one record"

# ---- the cache -------------------------------------------------------------
# Publish with a long TTL: the second lookup of the name in one process is
# answered from the cache.
pkc a dns publish --domain "$zone" --server 10.92.0.53:53 --tsig-key "$tmp/bind/tsig.key" \
  --ttl 300 > /dev/null 2>&1 || fail "publish (TTL 300)"
lookup "$zone" "$zone" --resolver "$url" > "$tmp/cache.json" 2> "$tmp/cache.err" \
  || fail "cache: $(cat "$tmp/cache.err")"
jq -s -e '.[0].seeds[0].cached == false and .[1].seeds[0].cached == true
  and .[0].seeds[0].sequence == .[1].seeds[0].sequence and .[1].seeds[0].ttl <= 300' \
  "$tmp/cache.json" > /dev/null || fail "cache: $(cat "$tmp/cache.json")"
phase "the second lookup comes from the cache"

# ---- per-peer names ----------------------------------------------------------
pkc a dns publish --domain "$zone" --server 10.92.0.53:53 --tsig-key "$tmp/bind/tsig.key" \
  --per-peer --json > "$tmp/pp.out" 2> "$tmp/pp.err" || fail "per-peer: $(cat "$tmp/pp.err")"
jq -e --arg o "_pkc.${ida,,}.$zone" '.owner == $o' "$tmp/pp.out" > /dev/null \
  || fail "per-peer owner: $(cat "$tmp/pp.out")"
lookup "$zone" --peer "$ida" --resolver "$url" > "$tmp/pp.json" || fail "per-peer lookup"
jq -e --arg id "$ida" '.seeds[0].peer_id == $id' "$tmp/pp.json" > /dev/null \
  || fail "per-peer lookup: $(cat "$tmp/pp.json")"
phase "per-peer name published and found"

# ---- resolver fallback ---------------------------------------------------------
# Nothing listens on 10.92.0.1:4443 (a's namespace): refused at once.
lookup "$zone" --resolver https://10.92.0.1:4443/dns-query --resolver "$url" \
  > "$tmp/fb.json" 2> "$tmp/fb.err" || fail "fallback: $(cat "$tmp/fb.err")"
jq -e --arg id "$ida" '.seeds[0].peer_id == $id' "$tmp/fb.json" > /dev/null || fail "fallback"
grep -q "no answer from https://10.92.0.1:4443/dns-query.*trying the next resolver" "$tmp/fb.err" \
  || fail "fallback not logged: $(cat "$tmp/fb.err")"
phase "the first resolver down, the second answers"

# ---- certificates --------------------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj "/CN=other CA" -keyout "$tmp/other.key" -out "$tmp/other.pem" > /dev/null 2>&1
in_ns "pkn${tag}-1" "$PKC" dns lookup --json --cafile "$tmp/other.pem" "$zone" --resolver "$url" \
  > "$tmp/cert.json" 2> "$tmp/cert.err" && fail "a certificate of another CA was accepted"
grep -qi "certificate" "$tmp/cert.err" || fail "bad certificate: $(cat "$tmp/cert.err")"
in_ns "pkn${tag}-1" "$PKC" dns lookup --json "$zone" --resolver "$url" \
  > "$tmp/cert2.json" 2> "$tmp/cert2.err" && fail "the test CA is trusted without --cafile"
grep -qi "certificate" "$tmp/cert2.err" || fail "system CAs: $(cat "$tmp/cert2.err")"
phase "certificates of another CA refused: $(grep -i certificate "$tmp/cert.err" | tail -n 1)"

# ---- crafted answers and a slow resolver ------------------------------------------
# The bad resolver's certificate, from the test CA, for 10.92.0.1.
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=10.92.0.1" \
  -keyout "$tmp/bad.key" -out "$tmp/bad.csr" > /dev/null 2>&1
printf 'subjectAltName=IP:10.92.0.1\n' > "$tmp/bad.ext"
openssl x509 -req -in "$tmp/bad.csr" -CA "$ca" -CAkey "$tmp/bind/ca.key" -CAcreateserial \
  -days 1 -extfile "$tmp/bad.ext" -out "$tmp/bad.pem" > /dev/null 2>&1 || fail "bad cert"
in_ns "pkn${tag}-1" python3 "$(dirname "$0")/bad_doh.py" 10.92.0.1 8443 "$tmp/bad.pem" \
  "$tmp/bad.key" > "$tmp/bad.out" 2> "$tmp/bad.err" &
pids+=($!)
wait_until 10 "the bad resolver to listen" grep -q ready "$tmp/bad.out"
bad=https://10.92.0.1:8443
check_bad() { # PATH REASON: no answer, the reason logged, then the fallback works
  local p=$1 why=$2
  for m in "" --post; do
    lookup "$zone" --resolver "$bad/$p" $m --timeout 1500 > "$tmp/b.json" 2> "$tmp/b.err" \
      && fail "/$p $m: an answer: $(cat "$tmp/b.json")"
    grep -q -- "$why" "$tmp/b.err" || fail "/$p $m: reason '$why' not in: $(cat "$tmp/b.err")"
  done
  lookup "$zone" --resolver "$bad/$p" --resolver "$url" --timeout 1500 > "$tmp/b.json" \
    2> "$tmp/b.err" || fail "/$p then BIND: $(cat "$tmp/b.err")"
  jq -e --arg id "$ida" '.seeds[0].peer_id == $id' "$tmp/b.json" > /dev/null \
    || fail "/$p then BIND: $(cat "$tmp/b.json")"
}
check_bad garbage "DNS answer"
check_bad truncated "not a DNS message"
check_bad loop "not a DNS message"
check_bad past "not a DNS message"
check_bad wrongtype "wrong type"
check_bad status "HTTP status 503"
check_bad ctype "content type 'text/html'"
ts=$(now_ms)
check_bad slow "Timeout"
phase "crafted answers refused with their reasons; slow resolver: timeout (3 lookups in $(( $(now_ms) - ts )) ms)"

# A node whose seed lookup hangs (the slow resolver) still stops at once:
# the lookup runs on a worker thread and is cancelled.
nslow=$(grep -c "slow request" "$tmp/bad.out")
start d "pkn${tag}-1" --no-lan --no-local --room "doh test room phrase" --seed "$zone" \
  --doh "$bad/slow" --doh-cafile "$ca"
wait_until 10 "d's lookup to reach the slow resolver" \
  eval '[ "$(grep -c "slow request" "$tmp/bad.out")" -gt "$nslow" ]'
pkc d status > /dev/null || fail "d does not answer while its lookup hangs"
ended() { local st; st=$(cut -d' ' -f3 "/proc/${pid[$1]}/stat" 2>/dev/null); [ -z "$st" ] || [ "$st" = Z ]; }
kill -TERM "${pid[d]}"
wait_until 3 "d to stop while its lookup hangs (cancelled, not waiting 5 s)" ended d
wait "${pid[d]}" || fail "d exited with status $?"
phase "a node stops at once while its seed lookup hangs"

alive a || fail "a died"
stop a
passed
