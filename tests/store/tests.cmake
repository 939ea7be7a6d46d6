# store: the node's database under process kills and a full disk. One
# driver (store_driver.c) writes batches as the node does and verifies them.
add_executable(pkc-store-driver ${CMAKE_CURRENT_LIST_DIR}/store_driver.c)
target_include_directories(pkc-store-driver PRIVATE ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(pkc-store-driver PRIVATE pkc_static)
# kill -9 at seeded moments, restart, every acknowledged batch is there.
pkc_add_test(NAME store.crash LABELS store TIMEOUT 600
             COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/crash.sh $<TARGET_FILE:pkc-store-driver>)
# A 512 KiB tmpfs in a private mount namespace (root); skipped (77) where
# unshare or mount is not allowed.
pkc_add_test(NAME store.disk_full LABELS store TIMEOUT 300
             COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/disk_full.sh $<TARGET_FILE:pkc-store-driver>)
set_tests_properties(store.disk_full PROPERTIES SKIP_RETURN_CODE 77)
