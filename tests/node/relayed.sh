#!/usr/bin/env bash
# node.relayed (issue 12, item 5): a line a - b - c on a LAN (namespaces on a
# bridge) where a and c cannot reach each other (nftables drops every UDP
# datagram between them, and IPv6 UDP, in a's and c's input): a knows c only
# through b. The control socket's `peers` lists b as direct and c under
# `relayed` with a route of 2 hops via b; `pkc dashboard` on a shows the row
# "relayed (2 hops via <b>)" under the neighbour b.
. "$(dirname "$0")/lib.sh"
command -v tmux > /dev/null || { echo "skipped: needs tmux"; exit 77; }
command -v nft > /dev/null || { echo "skipped: needs nft"; exit 77; }

make_bridge
for i in 1 2 3; do on_bridge "pkn${tag}-$i" "$i"; done
block() { # block NS OTHER-IPv4
  in_ns "$1" nft -f - <<NFT || fail "nft"
table inet pkcline {
  chain input {
    type filter hook input priority 0;
    meta l4proto udp ip saddr $2 drop
    meta l4proto udp meta nfproto ipv6 drop
  }
}
NFT
}
block "pkn${tag}-1" 10.92.0.3
block "pkn${tag}-3" 10.92.0.1
start a "pkn${tag}-1"
start b "pkn${tag}-2"
start c "pkn${tag}-3"
ida=$(id_of a); idb=$(id_of b); idc=$(id_of c)
wait_until 30 "a - b and b - c to connect" eval 'has_peer a "$idb" && has_peer c "$idb"'
phase "the line is up"

peers_reply() {
  python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"{\"cmd\":\"peers\"}\n")
print(s.makefile().readline())' "$tmp/$1/control.sock"
}
c_relayed() {
  peers_reply a > "$tmp/peers.json"
  jq -e --arg b "$idb" --arg c "$idc" '.ok and (.peers | map(select(.peer_id == $b and .route == "direct")) | length) == 1
    and (.peers | map(select(.peer_id == $c)) | length) == 0
    and (.relayed | map(select(.peer_id == $c and .route == "relayed" and .hops == 2 and .via == $b)) | length) >= 1' \
    "$tmp/peers.json" > /dev/null
}
wait_until 30 "c listed by a as relayed, 2 hops via b" c_relayed
has_peer a "$idc" && fail "a and c are neighbours: the line is not a line"
phase "the control socket says c is relayed through b"

sock="$tmp/tmux.sock"
T() { LANG=C.UTF-8 tmux -S "$sock" "$@"; }
cleanups+=("tmux -S '$sock' kill-server 2>/dev/null")
screen() { T capture-pane -p -t dash; }
pane_has() { screen > "$tmp/zscreen.out"; grep -q -- "$1" "$tmp/zscreen.out"; }
in_ns "pkn${tag}-1" env XDG_RUNTIME_DIR="$tmp/xdg" LANG=C.UTF-8 TERM=xterm-256color \
  tmux -S "$sock" new-session -d -x 80 -y 24 -s dash "$PKC" --data "$tmp/a" dashboard \
  || fail "tmux did not start"
sb=${idb:4:8}; sc=${idc:4:8}
wait_until 20 "b's row, direct" pane_has "^  $sb [a-z ]* local     direct  "
wait_until 20 "c's row, relayed through b" pane_has "^  $sc [. ]*  local     relayed (2 hops via $sb)"
pane_has "^Peers (1+[1-9])" || fail "the peers title does not count the relayed peer: $(screen)"
screen > "$tmp/screen.txt"
[ -n "${PKC_DASHBOARD_SCREEN:-}" ] && cp "$tmp/screen.txt" "$PKC_DASHBOARD_SCREEN"
T send-keys -t dash q
stop a b c
passed
