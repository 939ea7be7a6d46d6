# WebRTC data channels: pkc against headless Chromium, pkc against pkc, a
# STUN server, malformed input. Each test starts and stops what it needs.
pkc_add_test(NAME rtc.chromium LABELS rtc interop TIMEOUT 300
             COMMAND node ${CMAKE_CURRENT_LIST_DIR}/chromium.mjs)
pkc_add_test(NAME rtc.stun LABELS rtc net TIMEOUT 120
             COMMAND node ${CMAKE_CURRENT_LIST_DIR}/stun.mjs)
pkc_add_test(NAME rtc.cli LABELS rtc cli TIMEOUT 120
             COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/cli.sh)
# Needs root for network namespaces; skipped (status 77) where it cannot
# make them.
pkc_add_test(NAME rtc.nat LABELS rtc net TIMEOUT 120
             COMMAND node ${CMAKE_CURRENT_LIST_DIR}/nat.mjs)
set_tests_properties(rtc.nat PROPERTIES SKIP_RETURN_CODE 77)
# bench/rtc's program on a small scale in a network namespace of its own
# (skipped, 77, where unshare cannot make one): many connections on one
# loop open their channels and idle without a crash.
if(PKC_BUILD_BENCH)
  pkc_add_test(NAME rtc.bench_idle LABELS rtc net TIMEOUT 120
               COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/bench_idle.sh $<TARGET_FILE:bench-rtc>)
  set_tests_properties(rtc.bench_idle PROPERTIES SKIP_RETURN_CODE 77)
endif()
