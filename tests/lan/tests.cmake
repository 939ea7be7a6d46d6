# lan: same-host and LAN discovery (src/discovery/lan*.c, src/node/lan_io.c).
#
# lan.vectors_python: the committed datagram vectors against the independent
# Python implementation that wrote them (unit.lan_wire checks C against them
# everywhere).
find_program(PKC_LAN_PYTHON3 python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT PKC_LAN_PYTHON3)
  find_program(PKC_LAN_PYTHON3 python3)
endif()
if(PKC_LAN_PYTHON3)
  pkc_add_test(NAME lan.vectors_python LABELS lan
    COMMAND ${CMAKE_CURRENT_LIST_DIR}/vectors_check.sh ${PKC_LAN_PYTHON3})
  set_tests_properties(lan.vectors_python PROPERTIES SKIP_RETURN_CODE 77)
endif()

# The discovery runtime in network namespaces (needs root; skipped with 77
# where namespaces cannot be made). Each scenario starts lan_driver processes
# (the engine and lan_io on a real loop) and waits for what they print.
add_executable(pkc-lan-driver ${CMAKE_CURRENT_LIST_DIR}/lan_driver.c)
target_include_directories(pkc-lan-driver PRIVATE ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(pkc-lan-driver PRIVATE pkc_static)
foreach(scenario lan lan_ipv6 same_host same_host_multicast)
  pkc_add_test(NAME lan.netns_${scenario} LABELS lan net TIMEOUT 60
    COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/netns.sh ${scenario} $<TARGET_FILE:pkc-lan-driver>)
  set_tests_properties(lan.netns_${scenario} PROPERTIES SKIP_RETURN_CODE 77)
endforeach()
