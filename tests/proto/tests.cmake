# proto: the identity export/import commands, and the test vectors against
# the independent Python implementation that wrote them (needs the
# `cryptography` module: skipped where it is missing, e.g. on CI; the C
# suite unit.proto_vectors checks the committed vectors everywhere).
pkc_add_test(NAME proto.cli_id LABELS cli proto
  COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_cli_id.sh)
find_program(PKC_PYTHON3 python3)
if(PKC_PYTHON3)
  pkc_add_test(NAME proto.vectors_python LABELS proto
    COMMAND ${CMAKE_CURRENT_LIST_DIR}/vectors_check.sh ${PKC_PYTHON3})
  set_tests_properties(proto.vectors_python PROPERTIES SKIP_RETURN_CODE 77)
endif()
