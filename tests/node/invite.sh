#!/usr/bin/env bash
# node.invite (issue 12, invitations): nodes on one LAN (namespaces on a
# bridge) with LAN discovery off, so that only invitations bring them
# together. The inviter a is in a private room.
#  1. One-step, single use: a's link is fetched by a web client first (the
#     code is in the fragment: the server never sees it, nothing is spent);
#     b joins with it, connects to a and talks in the room.
#  2. The same link again, by c: refused by a ("already used"); c is left
#     out of the room.
#  3. Two-step: a's namespace now drops new inbound UDP (a firewall, as a
#     NAT would), so c cannot reach a; c joins, gets an answer code, and a
#     applies it: a dials c, and c is in the room.
#  4. QR codes: the link as a PNG, read back from it and from a JPEG photo.
#  5. Refusals, each with its words: expired (by the inviter's clock),
#     tampered, malformed (where), an answer to another node's invitation,
#     an answer given to `join`, and `join` with nothing to read.
. "$(dirname "$0")/lib.sh"

make_bridge
for i in 1 2 3; do on_bridge "pkn${tag}-$i" "$i"; done
start a "pkn${tag}-1" --no-local --no-lan --room "invitation test room"
start b "pkn${tag}-2" --no-local --no-lan
start c "pkn${tag}-3" --no-local --no-lan
start d "pkn${tag}-3" --no-local --no-lan
ida=$(id_of a); idb=$(id_of b); idc=$(id_of c)
room=$(pkc a rooms --json | jq -r 'select(.local == false) | .id')
# in_room NAME: NAME's node is in the room; invited NAME OUTCOME [ID]: an
# invitation event of NAME's node (jq 1.6's -e passes on no output: grep).
in_room() { pkc "$1" rooms --json | jq -r --arg r "$room" 'select(.id == $r) | .id' | grep -q .; }
invited() {
  events "$1" invite | jq -r --arg o "$2" --arg i "${3:-}" \
    'select(.outcome == $o and ($i == "" or .id == $i)) | .peer' | grep -q .
}
[ -n "$room" ] || fail "a is in no private room"

# 1. One-step, single use; a web server at the link's base sees the fetch.
in_ns "pkn${tag}-1" python3 -m http.server 8088 --bind 10.92.0.1 --directory "$tmp" \
  > "$tmp/http.log" 2>&1 &
pids+=($!)
wait_until 10 "the web server" in_ns "pkn${tag}-3" curl -s -o /dev/null http://10.92.0.1:8088/
pkc a invite --room "$room" --single-use --one-step --url-base http://10.92.0.1:8088/join \
  --json > "$tmp/inv1.json" || fail "pkc invite failed"
url=$(jq -r .url "$tmp/inv1.json")
code=$(jq -r .code "$tmp/inv1.json")
[[ $url == "http://10.92.0.1:8088/join#PKCI1"* ]] || fail "not an invitation URL: $url"
in_ns "pkn${tag}-3" curl -s -o /dev/null "$url"
wait_until 10 "the web server to log the fetch" grep -q "GET /join" "$tmp/http.log"
grep -q "${code:5:20}" "$tmp/http.log" && fail "the code reached the web server"
phase "the link fetched by a web client: the server saw $(grep -o 'GET [^ ]*' "$tmp/http.log" | tail -n 1)"
PKC_INVITE=$url timeout 60 "$PKC" --data "$tmp/b" join > "$tmp/join1.txt" 2>&1 ||
  fail "b's join failed: $(cat "$tmp/join1.txt")"
grep -q "you are in the room" "$tmp/join1.txt" || fail "join said: $(cat "$tmp/join1.txt")"
wait_until 20 "a and b to be neighbours" eval 'has_peer a "$idb" && has_peer b "$ida"'
[ "$(events a invite | jq -r 'select(.outcome == "used") | .peer')" = "$idb" ] ||
  fail "a did not report the invitation used by b"
in_room b || fail "b is not in the room"
pkc b send --room "$room" "hello through an invitation" > /dev/null
wait_until 20 "a to receive b's message" inbox_has a "hello through an invitation"
phase "one-step: b joined with the link and talks in the room"

# 2. Used up: c is refused and stays out.
if PKC_INVITE=$url timeout 60 "$PKC" --data "$tmp/c" join > "$tmp/join2.txt" 2>&1; then
  fail "c joined with a used single-use invitation"
fi
grep -q "refused the invitation: .*invitation already used" "$tmp/join2.txt" ||
  fail "c's refusal says: $(cat "$tmp/join2.txt")"
in_room c && fail "c kept the room of a refused invitation"
has_peer a "$idc" && fail "a took c as a neighbour"
phase "reused: $(grep -o 'refused.*' "$tmp/join2.txt")"

# 3. Two-step: nothing new may reach a from outside.
in_ns "pkn${tag}-1" nft -f - <<'EOF' || fail "nft"
table inet pkcfw {
  chain input {
    type filter hook input priority 0; policy accept;
    iifname "eth0" meta l4proto udp ct state new drop
  }
}
EOF
pkc a invite --room "$room" --json > "$tmp/inv2.json" || fail "second invite failed"
url2=$(jq -r .url "$tmp/inv2.json")
id2=$(jq -r .id "$tmp/inv2.json")
printf '%s\n' "$url2" | "$PKC" --data "$tmp/c" join --no-wait --json - > "$tmp/join3.json" ||
  fail "c's join failed: $(cat "$tmp/join3.json")"
answer=$(jq -r .answer_url "$tmp/join3.json")
[[ $answer == *"#PKCA1"* ]] || fail "no answer code: $(cat "$tmp/join3.json")"
timeout 60 "$PKC" --data "$tmp/a" answer "$answer" > "$tmp/answer.txt" 2>&1 ||
  fail "a's answer failed: $(cat "$tmp/answer.txt")"
grep -q "$idc joined with this invitation" "$tmp/answer.txt" || fail "answer said: $(cat "$tmp/answer.txt")"
wait_until 20 "c to report the room joined" invited c joined "$id2"
wait_until 20 "a and c to be neighbours" eval 'has_peer a "$idc" && has_peer c "$ida"'
in_room c || fail "c is not in the room"
phase "two-step: c unable to reach a, joined by the answer"
in_ns "pkn${tag}-1" nft delete table inet pkcfw

# QR codes: a writes its link as a PNG; f reads the PNG, g a JPEG "photo"
# of it (scaled, turned a little, noisy, blurred, compressed).
start f "pkn${tag}-2" --no-local --no-lan
start g "pkn${tag}-3" --no-local --no-lan
pkc a invite --room "$room" --one-step --qr "$tmp/inv.png" > "$tmp/inv5.txt" ||
  fail "invite --qr failed: $(cat "$tmp/inv5.txt")"
grep -q "QR code written to $tmp/inv.png" "$tmp/inv5.txt" || fail "invite --qr said: $(cat "$tmp/inv5.txt")"
convert "$tmp/inv.png" -resize 45% -background white -rotate 3 -seed 7 -attenuate 0.4 \
  +noise Gaussian -blur 0x0.6 -quality 70 "$tmp/photo.jpg" || fail "convert"
timeout 60 "$PKC" --data "$tmp/f" join --qr-image "$tmp/inv.png" > "$tmp/join5.txt" 2>&1 ||
  fail "f's join from the PNG failed: $(cat "$tmp/join5.txt")"
timeout 60 "$PKC" --data "$tmp/g" join --qr-image "$tmp/photo.jpg" > "$tmp/join6.txt" 2>&1 ||
  fail "g's join from the photo failed: $(cat "$tmp/join6.txt")"
idf=$(id_of f); idg=$(id_of g)
wait_until 20 "f and g to be a's neighbours" eval 'has_peer a "$idf" && has_peer a "$idg"'
in_room f && in_room g || fail "f or g is not in the room"
out=$(timeout 20 "$PKC" --data "$tmp/d" join --qr-image "$tmp/inv5.txt" 2>&1) && fail "d joined from a text file"
echo "  refused: $out"
phase "QR: f joined from the PNG, g from a JPEG photo of it"

# 4. Refusals.
refused() { # NAME EXPECTED-WORDS TEXT: `pkc NAME join` must fail saying so
  local out
  out=$(printf "%s\n" "$3" | timeout 30 "$PKC" --data "$tmp/$1" join - 2>&1) && fail "join of $2 succeeded"
  grep -q -- "$2" <<< "$out" || fail "join of $2 said: $out"
  echo "  refused: $(grep -o "$2.*" <<< "$out" | head -n 1)"
}
# One-step: the inviter refuses it in the handshake (an invitation without
# ONE_STEP is not dialed: the invitee would wait for its answer instead).
pkc a invite --room "$room" --one-step --expires 1s --json > "$tmp/inv3.json"
exp=$(jq -r .expires_ms "$tmp/inv3.json")
wait_until 10 "the invitation to expire" eval '[ "$(now_ms)" -gt "$exp" ]'
refused d "expired .* ago" "$(jq -r .url "$tmp/inv3.json")"
in_room d && fail "d kept the room of an expired invitation"
refused b "already in room $room .* connected to the inviter" "$url2"
bad=$(jq -r .code "$tmp/inv2.json")
flip=${bad:40:1}; [ "$flip" = A ] && to=B || to=A
refused d "signature" "${bad:0:40}${to}${bad:41}"
refused d "offset" "${bad:0:61}"
refused d "PKCI" "PKCX1${bad:5}"
refused d "an answer to an invitation" "$answer"
out=$(timeout 60 "$PKC" --data "$tmp/b" answer "$answer" 2>&1) && fail "b applied a's answer"
grep -q "not one of this node's" <<< "$out" || fail "answer to another node said: $out"
echo "  refused: $out"
out=$(env -u PKC_INVITE "$PKC" --data "$tmp/b" join < /dev/null 2>&1)
[ $? = 2 ] || fail "join with nothing to read did not exit 2"
phase "refusals said what was wrong"

# a's invitations outlive it: after a restart (new listener credentials: a
# one-step dial to an old link fails, the two-step exchange works) the used
# one stays used and an unused one still brings a new node e in.
pkc a invite --room "$room" --json > "$tmp/inv4.json" || fail "fourth invite failed"
stop a
start a "pkn${tag}-1" --no-local --no-lan
start e "pkn${tag}-2" --no-local --no-lan
answer_of() { # NAME LINK: the answer NAME's node gives to LINK
  printf '%s\n' "$2" | "$PKC" --data "$tmp/$1" join --no-wait --json - | jq -r .answer_url
}
ans=$(answer_of e "$url")
out=$(timeout 60 "$PKC" --data "$tmp/a" answer "$ans" 2>&1) && fail "a took a used invitation's answer"
grep -q "single-use and already used" <<< "$out" || fail "a's answer of a used invitation said: $out"
echo "  refused: $out"
ans=$(answer_of e "$(jq -r .url "$tmp/inv4.json")")
timeout 60 "$PKC" --data "$tmp/a" answer "$ans" > "$tmp/answer4.txt" 2>&1 ||
  fail "a's answer after its restart failed: $(cat "$tmp/answer4.txt")"
ide=$(id_of e)
wait_until 20 "a and e to be neighbours" eval 'has_peer a "$ide" && has_peer e "$ida"'
in_room e || fail "e is not in the room"
phase "after a's restart: the used invitation still used, an unused one works"
stop a b c d e f g
passed
