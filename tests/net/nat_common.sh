# tests/net/nat_common.sh: what the NAT scenarios (nat_eim, nat_symmetric,
# nat_rebind) share, on lab.sh: a public node p on the bridge (10.92.0.10),
# a STUN server (10.92.0.3 and .4), two NAT routers of one KIND (WAN
# 10.92.0.21 and .22) with one node each behind them (a at 10.93.21.2, b at
# 10.93.22.2). Every node uses the STUN server; LAN discovery is off (it
# does not cross NATs anyway). a and b join p's room with a one-step
# invitation of p each; the mesh then introduces them (signaling relayed
# by p). Sets ida, idb, idp, room.
# nat_setup KIND [P-UP-ARGS...]
nat_setup() {
  local kind=$1 x
  shift
  make_bridge
  stun_server 3 4
  nat_router ra "$kind" 21
  nat_router rb "$kind" 22
  behind 21 "pkn${tag}-a" 2
  behind 22 "pkn${tag}-b" 2
  on_bridge "pkn${tag}-p" 10
  start p "pkn${tag}-p" --no-local --no-lan --room "nat scenario room phrase" \
    --stun "$stun_ip:3478" "$@"
  start a "pkn${tag}-a" --no-local --no-lan --stun "$stun_ip:3478"
  start b "pkn${tag}-b" --no-local --no-lan --stun "$stun_ip:3478"
  idp=$(id_of p); ida=$(id_of a); idb=$(id_of b)
  room=$(pkc p rooms --json | jq -r 'select(.local == false) | .id')
  [ -n "$room" ] || fail "p is in no private room"
  for x in a b; do
    pkc p invite --room "$room" --one-step --json > "$tmp/inv_$x.json" || fail "pkc invite"
    PKC_INVITE=$(jq -r .url "$tmp/inv_$x.json") timeout 60 "$PKC" --data "$tmp/$x" join \
      > "$tmp/join_$x.txt" 2>&1 || fail "$x's join failed: $(cat "$tmp/join_$x.txt")"
  done
  wait_until 30 "a and b to be p's neighbours" eval 'has_peer p "$ida" && has_peer p "$idb"'
  phase "a (behind ${wan_of[21]}) and b (behind ${wan_of[22]}) joined p's room by invitation"
}

# reflexive NAME: the last reflexive address NAME's node learned (its log).
reflexive() {
  grep -o 'reflexive address\( changed from [0-9.:]* to\)\? [0-9.]*:[0-9]*' "$tmp/$1.err" |
    tail -n 1 | grep -o '[0-9.]*:[0-9]*$'
}
# address_of NAME PEER: the remote address of NAME's link to PEER (`peers`).
address_of() {
  pkc "$1" peers --json 2>/dev/null | jq -r --arg p "$2" 'select(.peer_id == $p) | .address' |
    head -n 1
}
# invitations_used: how many invitations p saw used so far.
invitations_used() { events p invite | jq -r 'select(.outcome == "used") | .peer' | grep -c .; }
