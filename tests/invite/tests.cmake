# invite: invitations and answers (src/discovery/invite.c). unit.invite checks
# the C code against tests/vectors/invite.json everywhere;
# invite.vectors_python recomputes that file with the independent Python
# implementation that wrote it (tests/vectors/gen_invite.py).
find_program(PKC_INVITE_PYTHON3 python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT PKC_INVITE_PYTHON3)
  find_program(PKC_INVITE_PYTHON3 python3)
endif()
if(PKC_INVITE_PYTHON3)
  pkc_add_test(NAME invite.vectors_python LABELS invite
    COMMAND ${CMAKE_CURRENT_LIST_DIR}/vectors_check.sh ${PKC_INVITE_PYTHON3})
  set_tests_properties(invite.vectors_python PROPERTIES SKIP_RETURN_CODE 77)
endif()
