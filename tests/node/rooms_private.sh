#!/usr/bin/env bash
# node.rooms_private: four nodes on one LAN (namespaces on a bridge), out of
# the local room. p1 and p2 are in the private room of one passphrase, p3
# and p4 in another's. Each pair connects; no node ever connects to a node
# of the other room, though each hears the others' announcements.
. "$(dirname "$0")/lib.sh"

make_bridge
for i in 1 2 3 4; do on_bridge "pkn${tag}-$i" "$i"; done
udp_in() {
  local v4
  v4=$(in_ns "$1" cat /proc/net/snmp | awk '$1 == "Udp:" { if (h) { print $2; exit } h = 1 }')
  echo "${v4:-0}"
}
start p1 "pkn${tag}-1" --no-local --room "correct horse battery"
start p3 "pkn${tag}-3" --no-local --room "staple of another room"
start p2 "pkn${tag}-2" --no-local --room "correct horse battery"
id1=$(id_of p1); id2=$(id_of p2); id3=$(id_of p3)
wait_until 30 "p1 and p2 to connect" eval 'has_peer p1 "$id2" && has_peer p2 "$id1"'
phase "p1 and p2 connected"
# p3 has heard several announcements of p1 and p2 by now (they announce
# until their room is satisfied); wait for them to reach p3's namespace.
in3=$(udp_in "pkn${tag}-3")
wait_until 30 "announcements to reach p3" eval '[ "$(udp_in "pkn${tag}-3")" -ge $(( in3 + 2 )) ]'
start p4 "pkn${tag}-4" --no-local --room "staple of another room"
id4=$(id_of p4)
wait_until 30 "p3 and p4 to connect" eval 'has_peer p3 "$id4" && has_peer p4 "$id3"'
phase "p3 and p4 connected"
[ "$(peers_of p1)" = "$id2" ] || fail "p1 is connected to $(peers_of p1 | tr '\n' ' ')"
[ "$(peers_of p2)" = "$id1" ] || fail "p2 is connected to $(peers_of p2 | tr '\n' ' ')"
[ "$(peers_of p3)" = "$id4" ] || fail "p3 is connected to $(peers_of p3 | tr '\n' ' ')"
[ "$(peers_of p4)" = "$id3" ] || fail "p4 is connected to $(peers_of p4 | tr '\n' ' ')"
# A broadcast stays in its room.
pkc p1 send "for the first room" > /dev/null
wait_until 20 "p2 to receive p1's broadcast" inbox_has p2 "for the first room"
pkc p3 send "for the second room" > /dev/null
wait_until 20 "p4 to receive p3's broadcast" inbox_has p4 "for the second room"
for n in p1 p2; do
  events "$n" connected | jq -r .peer | grep -qx -e "$id3" -e "$id4" && fail "$n connected to the other room"
  inbox_has "$n" "for the second room" && fail "$n got the other room's broadcast"
done
for n in p3 p4; do
  events "$n" connected | jq -r .peer | grep -qx -e "$id1" -e "$id2" && fail "$n connected to the other room"
  inbox_has "$n" "for the first room" && fail "$n got the other room's broadcast"
done
stop p1 p2 p3 p4
passed
