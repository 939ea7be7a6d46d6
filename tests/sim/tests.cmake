# Simulator tests: the real mesh engine for many peers in one process
# (sim/), seeded and repeatable. One runner, pkc-simtest, reusing the unit
# test harness; each TEST(suite, name) becomes the CTest test sim.<name>.
file(GLOB PKC_SIMTEST_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/test_*.c)
add_executable(pkc-simtest ${CMAKE_SOURCE_DIR}/tests/unit/main.c ${PKC_SIMTEST_SOURCES})
target_include_directories(pkc-simtest PRIVATE ${CMAKE_SOURCE_DIR}/tests/unit
                                               ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(pkc-simtest PRIVATE pkc_sim)
foreach(src ${PKC_SIMTEST_SOURCES})
  file(STRINGS ${src} _tests REGEX "^TEST\\(")
  foreach(t ${_tests})
    string(REGEX REPLACE "^TEST\\(([a-z_0-9]+), *([a-z_0-9]+)\\).*" "\\1/\\2" _sel "${t}")
    string(REGEX REPLACE "^.*/" "" _name "${_sel}")
    pkc_add_test(NAME sim.${_name} LABELS sim TIMEOUT 900
                 COMMAND $<TARGET_FILE:pkc-simtest> ${_sel})
  endforeach()
endforeach()

# The pkc-sim command line.
pkc_add_test(NAME sim.cli LABELS sim COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/cli.sh
             $<TARGET_FILE:pkc-sim>)
