# tests/net/bind.sh: BIND 9.18 for the network tests, serving a zone over
# plain DNS (UDP/TCP 53: RFC 2136 updates signed with a TSIG key) and DNS
# over HTTPS (HTTP/2 over TLS on 443, path /dns-query) in one network
# namespace. Standalone: it needs only a namespace that exists (made by
# tests/node/lib.sh, tests/net/lab.sh or anything else) and a directory of
# its own; sourced, it defines functions and starts nothing.
#
#   bind_start NS DIR ADDR ZONE   named -g in NS, listening on ADDR; makes in
#                                 DIR a test CA (DIR/ca.pem), a server
#                                 certificate for IP:ADDR signed by it, a TSIG
#                                 key (DIR/tsig.key, hmac-sha256) and the zone
#                                 (SOA, NS, an A for ns.ZONE, TTLs 60 s).
#                                 Returns when both listeners answer, else 1.
#   bind_stop DIR                 SIGTERM, then waits for named to end.
#   bind_url ADDR                 the DoH URL: https://ADDR/dns-query
#
# Everything is in DIR (certificates, keys, zone, journal, log: DIR/named.log);
# nothing is written elsewhere and no traffic leaves the namespace.

bind_url() { echo "https://$1/dns-query"; }

bind_start() {
  local ns=$1 dir=$2 addr=$3 zone=$4
  command -v named > /dev/null || { echo "bind.sh: named is not installed"; return 1; }
  mkdir -p "$dir" || return 1
  # The test CA and the server's certificate (P-256), with the address as
  # subjectAltName: clients check it, as they must.
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=pkc test CA" -keyout "$dir/ca.key" -out "$dir/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
    > /dev/null 2>&1 || { echo "bind.sh: CA"; return 1; }
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$addr" \
    -keyout "$dir/server.key" -out "$dir/server.csr" > /dev/null 2>&1 || return 1
  printf 'subjectAltName=IP:%s\nextendedKeyUsage=serverAuth\n' "$addr" > "$dir/server.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
    -CAcreateserial -days 2 -extfile "$dir/server.ext" -out "$dir/server.pem" \
    > /dev/null 2>&1 || { echo "bind.sh: server certificate"; return 1; }
  tsig-keygen -a hmac-sha256 pkc-update > "$dir/tsig.key" || return 1
  cat > "$dir/zone.db" <<ZONE
\$TTL 60
@   IN SOA ns.$zone. hostmaster.$zone. 1 60 60 600 60
@   IN NS  ns.$zone.
ns  IN A   $addr
ZONE
  cat > "$dir/named.conf" <<CONF
include "$dir/tsig.key";
options {
  directory "$dir";
  pid-file "$dir/named.pid";
  session-keyfile "$dir/session.key";
  listen-on port 53 { $addr; };
  listen-on port 443 tls pkc-tls http pkc-http { $addr; };
  listen-on-v6 { none; };
  recursion no;
  dnssec-validation no;
};
controls { };
tls pkc-tls { key-file "$dir/server.key"; cert-file "$dir/server.pem"; };
http pkc-http { endpoints { "/dns-query"; }; };
logging {
  channel all { file "$dir/named.log"; severity info; print-time yes; };
  category default { all; };
  category update { all; };
};
zone "$zone" {
  type primary;
  file "$dir/zone.db";
  allow-update { key "pkc-update"; };
};
CONF
  named-checkconf "$dir/named.conf" || { echo "bind.sh: named.conf"; return 1; }
  nsenter --net="/run/netns/$ns" named -g -c "$dir/named.conf" > "$dir/named.out" 2>&1 &
  echo $! > "$dir/named.run"
  # Ready when both listeners are there (TCP 53 and 443).
  local i
  for i in $(seq 1 100); do
    if nsenter --net="/run/netns/$ns" ss -ltn 2>/dev/null | grep -q "$addr:443 " &&
       nsenter --net="/run/netns/$ns" ss -ltn 2>/dev/null | grep -q "$addr:53 "; then
      return 0
    fi
    kill -0 "$(cat "$dir/named.run")" 2>/dev/null || break
    sleep 0.1
  done
  echo "bind.sh: named did not start:"; tail -n 20 "$dir/named.out"
  return 1
}

bind_stop() {
  local dir=$1 p
  [ -f "$dir/named.run" ] || return 0
  p=$(cat "$dir/named.run")
  kill -TERM "$p" 2>/dev/null
  # named ends within a second or two; then kill it.
  local i
  for i in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null
  wait "$p" 2>/dev/null
  rm -f "$dir/named.run"
}
