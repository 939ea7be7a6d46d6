# proto: the identity export/import commands, and the test vectors against
# the independent Python implementation that wrote them (needs the
# `cryptography` module and an Argon2id, which scripts/bootstrap installs; the C
# suite unit.proto_vectors checks the committed vectors everywhere).
pkc_add_test(NAME proto.cli_id LABELS cli proto
  COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_cli_id.sh)
# Debian's python3 first: scripts/bootstrap installs the modules there (a
# python3 earlier in PATH, such as pyenv's, may not have them).
find_program(PKC_PYTHON3 python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT PKC_PYTHON3)
  find_program(PKC_PYTHON3 python3)
endif()
if(PKC_PYTHON3)
  pkc_add_test(NAME proto.vectors_python LABELS proto
    COMMAND ${CMAKE_CURRENT_LIST_DIR}/vectors_check.sh ${PKC_PYTHON3})
  set_tests_properties(proto.vectors_python PROPERTIES SKIP_RETURN_CODE 77)
endif()
