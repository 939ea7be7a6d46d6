# net: the network lab (tests/net/lab.sh, docs/netlab.md): namespaces on a
# bridge, NAT routers, a STUN server, loss and partitions; real `pkc up`
# nodes in them. Needs root (skipped, 77, where namespaces cannot be made).
# Each scenario is its own test so that they run side by side.
foreach(t lab_nat leftovers loss30 partition6 nat_eim nat_symmetric nat_rebind)
  pkc_add_test(NAME net.${t} LABELS net TIMEOUT 180
               COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/${t}.sh)
  set_tests_properties(net.${t} PROPERTIES SKIP_RETURN_CODE 77)
endforeach()
# 30 nodes, 2 minutes of churn: about 2.5 min on 2 cores (ASan), 1.3 GB.
pkc_add_test(NAME net.churn30 LABELS net TIMEOUT 400
             COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/churn30.sh)
set_tests_properties(net.churn30 PROPERTIES SKIP_RETURN_CODE 77)
