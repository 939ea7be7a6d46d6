# CRDT tests: pkc's Yjs engine against the `yjs` npm package.
pkg_check_modules(YDRIVER_JANSSON REQUIRED IMPORTED_TARGET jansson)
add_executable(pkc-ydriver ${CMAKE_CURRENT_LIST_DIR}/ydriver.c)
target_include_directories(pkc-ydriver PRIVATE ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(pkc-ydriver PRIVATE pkc_static PkgConfig::YDRIVER_JANSSON)
pkc_add_test(NAME crdt.differential LABELS crdt interop
             COMMAND node ${CMAKE_CURRENT_LIST_DIR}/differential.mjs $<TARGET_FILE:pkc-ydriver>)
# large contents (over 16 KiB per item) and the compaction of content arenas
pkc_add_test(NAME crdt.differential_big LABELS crdt interop
             COMMAND node ${CMAKE_CURRENT_LIST_DIR}/differential.mjs $<TARGET_FILE:pkc-ydriver>
                     --big --seeds 20 --first 400001 --steps 30)
pkc_add_test(NAME crdt.protocols LABELS crdt interop
             COMMAND node ${CMAKE_CURRENT_LIST_DIR}/protocols.mjs $<TARGET_FILE:pkc-ydriver>)
pkc_add_test(NAME crdt.cli LABELS crdt cli
             COMMAND node ${CMAKE_CURRENT_LIST_DIR}/cli.mjs $<TARGET_FILE:pkc>)
pkc_add_test(NAME crdt.hostile LABELS crdt interop
             COMMAND node ${CMAKE_CURRENT_LIST_DIR}/hostile.mjs $<TARGET_FILE:pkc-ydriver>)
pkc_add_test(NAME crdt.yjs_cases LABELS crdt interop
             COMMAND node ${CMAKE_CURRENT_LIST_DIR}/yjs-cases.mjs $<TARGET_FILE:pkc-ydriver>)
