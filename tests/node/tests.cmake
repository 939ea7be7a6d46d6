# node: the node as people run it, `pkc up` processes in network namespaces
# made by each script (tests/node/lib.sh) and removed on any exit; every wait
# is for an event with a deadline. Needs root (namespaces, and a tmpfs in a
# private mount namespace for disk_full): skipped (77) where it cannot.
# Tests run side by side: each has its own namespaces, data directories
# under ${CMAKE_BINARY_DIR}/node-tests and registry directory.
foreach(t three dm_offline kill9 corrupt_db disk_full rooms_private partition)
  pkc_add_test(NAME node.${t} LABELS node net TIMEOUT 120
               COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/${t}.sh)
  set_tests_properties(node.${t} PROPERTIES SKIP_RETURN_CODE 77)
endforeach()
