pkc_add_test(NAME cli.basics LABELS cli COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_cli.sh)
pkc_add_test(NAME cli.qr LABELS cli COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_qr.sh)
