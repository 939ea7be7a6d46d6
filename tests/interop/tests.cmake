# Interop tests: pkc against implementations nobody here wrote.
add_executable(pkc-lib0-tool ${CMAKE_CURRENT_LIST_DIR}/lib0_tool.c)
target_include_directories(pkc-lib0-tool PRIVATE ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(pkc-lib0-tool PRIVATE pkc_static)
pkc_add_test(NAME interop.lib0 LABELS interop
             COMMAND node ${CMAKE_CURRENT_LIST_DIR}/lib0.mjs $<TARGET_FILE:pkc-lib0-tool>)
