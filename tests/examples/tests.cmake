# examples: the programs of examples/ (built with PKC_BUILD_EXAMPLES), run
# by tests/examples/run.sh as several instances in a network namespace of
# their own (skipped, 77, where unshare cannot make one).
if(TARGET pkc-example-chat)
  foreach(example chat counter)
    pkc_add_test(NAME examples.${example} LABELS examples net TIMEOUT 240
      COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/run.sh ${example}
              $<TARGET_FILE:pkc-example-${example}>)
    set_tests_properties(examples.${example} PROPERTIES SKIP_RETURN_CODE 77)
  endforeach()
endif()
