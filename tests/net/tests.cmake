# net: DNS seeds against a real BIND 9 (tests/net/bind.sh) in network
# namespaces (tests/node/lib.sh); root needed, skipped (77) where namespaces
# cannot be made or named is missing.
#   net.doh        lookups (GET, POST, cache, resolver fallback, bad
#                  certificates, crafted and slow answers) and publishing
#                  (TSIG, refused without the key, republishing, per-peer)
#   net.doh_seed   a node finds a seed over DoH and joins its room; a second
#                  one joins through the mesh; prints the time to pass
foreach(t doh doh_seed)
  pkc_add_test(NAME net.${t} LABELS net TIMEOUT 180
               COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/${t}.sh)
  set_tests_properties(net.${t} PROPERTIES SKIP_RETURN_CODE 77)
endforeach()
