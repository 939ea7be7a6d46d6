# net: the network lab (tests/net/lab.sh, docs/netlab.md): namespaces on a
# bridge, NAT routers, a STUN server, loss and partitions; real `pkc up`
# nodes in them. Needs root (skipped, 77, where namespaces cannot be made).
# Each scenario is its own test so that they run side by side.
foreach(t lab_nat leftovers loss30 partition6)
  pkc_add_test(NAME net.${t} LABELS net TIMEOUT 180
               COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/${t}.sh)
  set_tests_properties(net.${t} PROPERTIES SKIP_RETURN_CODE 77)
endforeach()
