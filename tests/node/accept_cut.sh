#!/usr/bin/env bash
# node.accept_cut: the peer v dialed answers its handshake (ACCEPT) and
# closes the connection at once, the two in one batch of datagrams, as a
# full node does when its mesh refuses the peer it has just accepted (seen
# in node.full_peer). v reads both at once: the ACCEPT makes its session
# established, its mesh takes the peer, and the mesh's first message cannot
# be sent, which ends the session inside the mesh's call. v's mesh must
# hear that the peer is gone: before the fix it kept it as a neighbour with
# no connection, refused every later connection from it as "already
# connected" and never dialed it again.
# d is tests/node/hostile.c with `cut 3`: the next 3 links that reach d are
# closed right after ACCEPT. v must dial d again after each and then
# connect; its events must say connected once more than disconnected. v
# reads the two together most times, not every time (the second datagram
# can come after v woke for the first): how many times is printed.
. "$(dirname "$0")/lib.sh"

host_ns
start v "$host"
idv=$(id_of v)
stop v
start_hostile d "$host" --above "$idv"   # v has the smaller id: v dials
idd=$(hostile_id d)
hostile d cut 3 > /dev/null
start v "$host"
wait_until 30 "v to dial d and d to cut the link" hostile_has d "cut $idv"
phase "v dialed d; d accepted and closed the connection in one batch"
wait_until 15 "v to connect to d (d cuts the first 3 links that reach it)" \
  eval 'has_peer v "$idd" && hostile_has d "connected $idv"'
together=$(grep -c "session with $idd ended as the mesh took it" "$tmp/v.err")
ncut=$(grep -cxF "cut $idv" "$tmp/d.out")
phase "v and d connected; d cut $ncut links v dialed, v read the ACCEPT and the" \
  "end together $together times (the case fixed)"
nc=$(events v connected | jq -r .peer | grep -cxF "$idd")
nd=$(events v disconnected | jq -r .peer | grep -cxF "$idd")
[ $(( nc - nd )) = 1 ] || fail "v's events: connected to d $nc times, disconnected $nd times"
stop v d
passed
