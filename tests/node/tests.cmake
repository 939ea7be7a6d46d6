# node: the node as people run it, `pkc up` processes in network namespaces
# made by each script (tests/node/lib.sh) and removed on any exit; every wait
# is for an event with a deadline. Needs root (namespaces, and a tmpfs in a
# private mount namespace for disk_full): skipped (77) where it cannot.
# Tests run side by side: each has its own namespaces, data directories
# under ${CMAKE_BINARY_DIR}/node-tests and registry directory.
foreach(t three dm_offline kill9 corrupt_db disk_full rooms_private partition ice_retry invite relayed full_peer
        sync_progress dns_record)
  pkc_add_test(NAME node.${t} LABELS node net TIMEOUT 120
               COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/${t}.sh)
  set_tests_properties(node.${t} PROPERTIES SKIP_RETURN_CODE 77)
endforeach()

# Item 7's cases that need a hostile peer: pkc-node-hostile (hostile.c) is a
# real node that reaches into its insides to send tampered, replayed,
# excessive or broken frames on command; test builds only.
add_executable(pkc-node-hostile ${CMAKE_CURRENT_LIST_DIR}/hostile.c)
target_include_directories(pkc-node-hostile PRIVATE ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(pkc-node-hostile PRIVATE pkc_static)
foreach(t bad_signature replay rate_limit doc_broken_update doc_missing_update abandoned_dial
        accept_cut)
  pkc_add_test(NAME node.${t} LABELS node net TIMEOUT 150
               COMMAND env PKC_HOSTILE=$<TARGET_FILE:pkc-node-hostile>
                       bash ${CMAKE_CURRENT_LIST_DIR}/${t}.sh)
  set_tests_properties(node.${t} PROPERTIES SKIP_RETURN_CODE 77)
endforeach()

# pkc chat and pkc dashboard: on a terminal (driven in tmux: send-keys to type, capture-pane
# to read the screen) and in line mode (pipes), beside a `pkc up` node.
foreach(t chat chat_lines dashboard)
  pkc_add_test(NAME node.${t} LABELS node net cli TIMEOUT 120
               COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/${t}.sh)
  set_tests_properties(node.${t} PROPERTIES SKIP_RETURN_CODE 77)
endforeach()
