# bench-crdt reads the JSON inputs and the gzip editing trace.
pkg_check_modules(BENCH_CRDT REQUIRED IMPORTED_TARGET jansson zlib)
target_link_libraries(bench-crdt PRIVATE PkgConfig::BENCH_CRDT)
