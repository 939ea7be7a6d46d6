# The browser build (make web, web/dist/): the core compiled to WebAssembly
# against the native library and yjs, in Node.js and in headless Chromium on
# the page `pkc web` serves; pkc web itself; the sizes of what a page loads.
# They read web/dist/, which `make test` builds first (`make web`); skipped
# (77) only where the WebAssembly toolchain is not installed.
add_executable(pkc-web-native ${CMAKE_CURRENT_LIST_DIR}/web_native.c)
target_link_libraries(pkc-web-native PRIVATE pkc_static)
pkc_add_test(NAME web.node LABELS web TIMEOUT 120
             COMMAND node ${CMAKE_CURRENT_LIST_DIR}/core.mjs node $<TARGET_FILE:pkc-web-native>)
pkc_add_test(NAME web.chromium LABELS web interop TIMEOUT 180
             COMMAND node ${CMAKE_CURRENT_LIST_DIR}/core.mjs chromium
                     $<TARGET_FILE:pkc-web-native>)
pkc_add_test(NAME web.serve LABELS web cli TIMEOUT 60
             COMMAND node ${CMAKE_CURRENT_LIST_DIR}/serve.mjs)
pkc_add_test(NAME web.sizes LABELS web TIMEOUT 60
             COMMAND node ${CMAKE_CURRENT_LIST_DIR}/sizes.mjs)
set_tests_properties(web.node web.chromium web.serve web.sizes PROPERTIES SKIP_RETURN_CODE 77)
pkc_add_test(NAME web.tabs LABELS web interop TIMEOUT 180
             COMMAND node ${CMAKE_CURRENT_LIST_DIR}/tabs.mjs)
set_tests_properties(web.tabs PROPERTIES SKIP_RETURN_CODE 77)
# A page accepts a native node's invitation (pkc up, pkc invite) and joins its
# room, in a network namespace of the test's own (unshare -n; 77 where none
# can be made): chat both ways, a document converging, refusals shown.
pkc_add_test(NAME web.invite_native LABELS web interop TIMEOUT 180
             COMMAND node ${CMAKE_CURRENT_LIST_DIR}/invite_native.mjs)
set_tests_properties(web.invite_native PROPERTIES SKIP_RETURN_CODE 77)
# A tab's identity, rooms and documents kept in IndexedDB across a reload; a
# damaged kept update detected, shown, and fetched again from the other tab.
pkc_add_test(NAME web.persist LABELS web interop TIMEOUT 180
             COMMAND node ${CMAKE_CURRENT_LIST_DIR}/persist.mjs)
set_tests_properties(web.persist PROPERTIES SKIP_RETURN_CODE 77)
# The page itself: two tabs' peer list (direct, latency) and dashboard
# (numbers that move with a burst), screenshots at desktop and phone sizes
# (in the build directory), no sideways overflow at 390 and 360 px, every
# control named; a native node's invitation scanned as a QR code from a
# fake camera (in a network namespace of its own).
pkc_add_test(NAME web.page LABELS web interop TIMEOUT 180
             COMMAND node ${CMAKE_CURRENT_LIST_DIR}/page.mjs)
set_tests_properties(web.page PROPERTIES SKIP_RETURN_CODE 77)
# Invitations made by a page, and the answer step: a page invites a native
# node (pkc join prints the answer, the page applies it), a page invites a
# page, Chromium and Firefox ESR invite each other; refused answers shown.
pkc_add_test(NAME web.invite_page LABELS web interop TIMEOUT 240
             COMMAND node ${CMAKE_CURRENT_LIST_DIR}/invite_page.mjs)
set_tests_properties(web.invite_page PROPERTIES SKIP_RETURN_CODE 77)
# The page's QR codes (web/page/qr.js over qrcode-generator's qrcode.mjs):
# symbols of versions 1..40 read back by zbar (`pkc qr decode`) and jsQR, no
# larger than libqrencode's.
pkc_add_test(NAME web.qr LABELS web TIMEOUT 60
             COMMAND node ${CMAKE_CURRENT_LIST_DIR}/qr.mjs)
set_tests_properties(web.qr PROPERTIES SKIP_RETURN_CODE 77)
# The page's JavaScript API (window.p2p, web/page/p2p.js) called as a web
# developer would, between two tabs and with a native node (in a network
# namespace of its own, as web.invite_native): broadcast and send of JSON
# values, delivery, events, shared state read by yjs, disconnectPeer, a
# direct message waiting for a closed tab, the peer book.
pkc_add_test(NAME web.api LABELS web interop TIMEOUT 240
             COMMAND node ${CMAKE_CURRENT_LIST_DIR}/api.mjs)
set_tests_properties(web.api PROPERTIES SKIP_RETURN_CODE 77)
# The same page tests in Debian's Firefox ESR (puppeteer-core over WebDriver
# BiDi, tests/web/browsers.mjs), each in a network namespace of its own.
pkc_add_test(NAME web.tabs.firefox LABELS web interop TIMEOUT 180
             COMMAND node ${CMAKE_CURRENT_LIST_DIR}/tabs.mjs firefox)
set_tests_properties(web.tabs.firefox PROPERTIES SKIP_RETURN_CODE 77)
pkc_add_test(NAME web.invite_native.firefox LABELS web interop TIMEOUT 180
             COMMAND node ${CMAKE_CURRENT_LIST_DIR}/invite_native.mjs firefox)
set_tests_properties(web.invite_native.firefox PROPERTIES SKIP_RETURN_CODE 77)
# Three tabs and two native nodes in one room (network namespace; 77 where
# none can be made): one tab accepts a node's invitation, the other tabs
# join the room through it; a broadcast from each of the five reaches the
# other four once; a tab's document edit reaches both nodes.
pkc_add_test(NAME web.room5 LABELS web interop TIMEOUT 180
             COMMAND node ${CMAKE_CURRENT_LIST_DIR}/room5.mjs)
set_tests_properties(web.room5 PROPERTIES SKIP_RETURN_CODE 77)
pkc_add_test(NAME web.persist.firefox LABELS web interop TIMEOUT 180
             COMMAND node ${CMAKE_CURRENT_LIST_DIR}/persist.mjs firefox)
set_tests_properties(web.persist.firefox PROPERTIES SKIP_RETURN_CODE 77)
pkc_add_test(NAME web.room5.firefox LABELS web interop TIMEOUT 180
             COMMAND node ${CMAKE_CURRENT_LIST_DIR}/room5.mjs firefox)
set_tests_properties(web.room5.firefox PROPERTIES SKIP_RETURN_CODE 77)
# A page's invitation accepted by `pkc join`, the answer applied in the page,
# chat and a document both ways, and the refused answers, in Firefox ESR
# (parts 1 and 2 of invite_page.mjs; the page-to-page and Chromium <->
# Firefox parts run in web.invite_page, which has both browsers).
pkc_add_test(NAME web.invite_page.firefox LABELS web interop TIMEOUT 240
             COMMAND node ${CMAKE_CURRENT_LIST_DIR}/invite_page.mjs firefox)
set_tests_properties(web.invite_page.firefox PROPERTIES SKIP_RETURN_CODE 77)
