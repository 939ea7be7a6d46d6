# api: checks of include/pkc.h as a whole. errmsg_coverage: every public
# function that returns an error code has a case in tests/unit/test_errmsg.c
# (the walk over the error contract). Standard library only: any python3.
find_program(PKC_API_PYTHON3 python3)
if(PKC_API_PYTHON3)
  pkc_add_test(NAME api.errmsg_coverage LABELS api
    COMMAND ${PKC_API_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/errmsg_coverage.py)
endif()
