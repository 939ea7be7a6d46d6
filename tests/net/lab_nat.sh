#!/usr/bin/env bash
# net.lab: the lab itself (tests/net/lab.sh) behaves as named, no pkc node
# involved. Behind the "eim" router, RFC 5780 discovery (coturn's
# turnutils_natdiscovery against the lab's STUN server) finds
# endpoint-independent mapping and address-and-port-dependent filtering,
# one socket shows one mapping to three server endpoints, and two hosts
# behind two such routers punch a hole to each other from their STUN
# addresses. Behind the "symmetric" router: address-and-port-dependent
# mapping, a new port per destination, and punching between two of them
# fails. A host on the bridge itself is seen without NAT. nat_rebind moves a
# live flow to a new port of the new range. `loss 30` drops 20..40% of 2000
# datagrams (30% expected); a partition stops traffic between its halves
# only, and heal/link_down/link_up do what they say.
. "$(dirname "$0")/lab.sh"

command -v turnutils_natdiscovery > /dev/null || { echo "skipped: no turnutils_natdiscovery"; exit 77; }
make_bridge
stun_server 200 201
nat_router e1 eim 11
nat_router e2 eim 12
nat_router s1 symmetric 13
nat_router s2 symmetric 14
behind 11 "pkn${tag}-a" 2
behind 12 "pkn${tag}-b" 2
behind 13 "pkn${tag}-c" 2
behind 14 "pkn${tag}-d" 2
on_bridge "pkn${tag}-p" 3
on_bridge "pkn${tag}-q" 4
on_bridge "pkn${tag}-r" 5
phase "lab built: bridge, STUN server, 4 routers, 7 hosts"

discover() { in_ns "pkn${tag}-$1" timeout 30 turnutils_natdiscovery -m -f "$stun_ip" 2>&1 > "$tmp/disc.$1" 2>&1; }
declare -A dpid
for h in a c p; do discover "$h" & dpid[$h]=$!; done
for h in a c p; do wait "${dpid[$h]}" || fail "natdiscovery from $h: $(tail -n 5 "$tmp/disc.$h")"; done
said() { grep -q "NAT with $2!" "$tmp/disc.$1" || fail "$1: natdiscovery did not say \"$2\": $(grep '^NAT with' "$tmp/disc.$1")"; }
said a "Endpoint Independent Mapping"; said a "Address and Port Dependent Filtering"
said c "Address and Port Dependent Mapping"; said c "Address and Port Dependent Filtering"
said p "Endpoint Independent Mapping"; said p "Endpoint Independent Filtering"
phase "natdiscovery: eim router $(grep -h '^NAT with' "$tmp/disc.a" | tr '\n' ' '); symmetric router $(grep -h '^NAT with' "$tmp/disc.c" | tr '\n' ' ')"

servers=("$stun_ip:3478" "$stun_ip:3479" "$stun_ip2:3478")
ma=$(stun_mapped "pkn${tag}-a" 0 "${servers[@]}") || fail "STUN from a"
mc=$(stun_mapped "pkn${tag}-c" 0 "${servers[@]}") || fail "STUN from c"
[ "$(sort -u <<< "$ma" | wc -l)" = 1 ] || fail "eim: several mappings for one socket: $ma"
grep -q "^10.92.0.11:" <<< "$ma" || fail "eim: not mapped to the router's address: $ma"
[ "$(sort -u <<< "$mc" | wc -l)" = 3 ] || fail "symmetric: not one mapping per destination: $mc"
phase "one socket to 3 server endpoints: eim $(echo $ma), symmetric $(echo $mc)"

# Hole punching: each side sends from a fixed port to the other's STUN address.
punch() { # punch NS1 NS2 PORT: both punch at once; prints both results
  local m1 m2 r1 r2 p1 p2
  m1=$(stun_mapped "pkn${tag}-$1" "$3") || fail "STUN from $1"
  m2=$(stun_mapped "pkn${tag}-$2" "$3") || fail "STUN from $2"
  in_ns "pkn${tag}-$1" python3 "$lab_dir/udp.py" punch "$3" "$m2" 4 > "$tmp/punch.$1" &
  p1=$!
  in_ns "pkn${tag}-$2" python3 "$lab_dir/udp.py" punch "$3" "$m1" 4 > "$tmp/punch.$2" &
  p2=$!
  wait "$p1"; r1=$?; wait "$p2"; r2=$?
  echo "$r1$r2"
}
[ "$(punch a b 41000)" = 00 ] || fail "two hosts behind eim routers could not punch a hole"
[ "$(punch c d 41000)" = 11 ] || fail "two hosts behind symmetric routers punched a hole: $(cat "$tmp"/punch.[cd])"
phase "punching: eim to eim works, symmetric to symmetric does not"

m1=$(stun_mapped "pkn${tag}-a" 42000) || fail "STUN from a"
m1b=$(stun_mapped "pkn${tag}-a" 42000) || fail "STUN from a"
[ "$m1" = "$m1b" ] || fail "the mapping of one flow changed without a rebind: $m1 then $m1b"
nat_rebind 11
m2=$(stun_mapped "pkn${tag}-a" 42000) || fail "STUN from a after the rebind"
port2=${m2##*:}
[ "$m2" != "$m1" ] && [ "$port2" -ge 20000 ] && [ "$port2" -le 20999 ] ||
  fail "nat_rebind: $m1 became $m2 (expected a port of 20000-20999)"
nat_rebind 11
m3=$(stun_mapped "pkn${tag}-a" 42000) || fail "STUN from a after the second rebind"
port3=${m3##*:}
[ "$port3" -ge 21000 ] && [ "$port3" -le 21999 ] || fail "second nat_rebind: $m2 became $m3"
phase "nat_rebind: one flow seen from $m1, then $m2, then $m3"

count() { # count FROM TO-N N: datagrams of N sent from FROM that reach 10.92.0.TO-N
  local to=$2 rp
  in_ns "pkn${tag}-$(ns_letter "$to")" python3 "$lab_dir/udp.py" recv 43000 1.5 > "$tmp/count" &
  rp=$!
  wait_until 5 "the receiver" eval 'in_ns "pkn${tag}-$(ns_letter "$to")" ss -lun | grep -q ":43000 "'
  in_ns "pkn${tag}-$1" python3 "$lab_dir/udp.py" send "10.92.0.$to" 43000 "$3"
  wait "$rp"
  cat "$tmp/count"
}
ns_letter() { case $1 in 3) echo p ;; 4) echo q ;; 5) echo r ;; esac; }
loss 30 3 4 5
got=$(count p 4 2000)
read -r seen dropped <<< "$(loss_counts)"
[ "$got" -ge 1200 ] && [ "$got" -le 1600 ] || fail "loss 30: $got of 2000 arrived"
[ "$seen" -ge 2000 ] && [ "$dropped" = $(( 2000 - got )) ] ||
  fail "loss counters: seen $seen dropped $dropped, $got arrived"
loss 0
[ "$(count p 4 200)" = 200 ] || fail "loss 0 still drops"
phase "loss 30: $got of 2000 arrived (counters: $dropped dropped)"

partition "3 4" "5"
[ "$(count p 4 100)" = 100 ] || fail "a partition dropped traffic inside one half"
[ "$(count p 5 100)" = 0 ] || fail "a partition let traffic through"
[ "$(count r 3 100)" = 0 ] || fail "a partition let traffic through (other way)"
heal
[ "$(count p 5 100)" = 100 ] || fail "heal did not end the partition"
link_down 5
[ "$(count p 5 100)" = 0 ] || fail "link_down: traffic still passes"
link_up 5
wait_until 10 "the link to come back" eval '[ "$(count p 5 20)" = 20 ]'
phase "partition, heal, link_down, link_up"
passed
