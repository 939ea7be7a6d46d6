# dnsrec: DNS seed records (src/discovery/dnsrec.c). unit.dnsrec checks the
# C code against tests/vectors/dnsrec.json everywhere; dnsrec.vectors_python
# recomputes that file with the independent Python implementation that wrote
# it (tests/vectors/gen_dnsrec.py).
find_program(PKC_DNSREC_PYTHON3 python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT PKC_DNSREC_PYTHON3)
  find_program(PKC_DNSREC_PYTHON3 python3)
endif()
if(PKC_DNSREC_PYTHON3)
  pkc_add_test(NAME dnsrec.vectors_python LABELS dnsrec
    COMMAND ${CMAKE_CURRENT_LIST_DIR}/vectors_check.sh ${PKC_DNSREC_PYTHON3})
  set_tests_properties(dnsrec.vectors_python PROPERTIES SKIP_RETURN_CODE 77)
endif()
