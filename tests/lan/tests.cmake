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
