#!/usr/bin/env bash
# node.abandoned_dial: a peer dials v, then ends the session in its handshake
# (its mesh dropped v while connecting: seen in net.loss30, where the peer
# had taken v's connection request through the mesh instead), keeps the
# connection up, and waits for v to dial it. v must not take that link for
# a dial still forming (it did: the two waited for each other until v closed
# the link as idle, 30 s after it connected): it closes it, says why, and
# dials the peer itself, about a second later (the larger id's yield).
# d is tests/node/hostile.c with `abandon`: every handshake on a link it
# dialed is ended right after HELLO, and it never dials v again (as after
# failed dials); the link v dials is left alone.
. "$(dirname "$0")/lib.sh"

host_ns
start v "$host"
idv=$(id_of v)
stop v
start_hostile d "$host" --below "$idv"   # d has the smaller id: d dials
idd=$(hostile_id d)
hostile d abandon > /dev/null
start v "$host"
wait_until 30 "d to dial v and abandon the handshake" hostile_has d "abandoned $idv"
phase "d dialed v and ended the session in its handshake, its connection kept"

# 15 s: well under the 30 s after which the idle link would go anyway.
wait_until 15 "v to dial d itself and connect" \
  eval 'has_peer v "$idd" && hostile_has d "connected $idv"'
grep -q "its sessions ended before the peer said who it is: we dial it" "$tmp/v.err" ||
  fail "v connected, but not by closing the half-open link and dialing"
phase "v closed the half-open link and dialed d"
stop v d
passed
