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
