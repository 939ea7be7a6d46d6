# bench/node: bench-dtls-floor, OpenSSL alone (floor/dtls_floor.c), linked as
# pkc links it and, where Debian's static libraries are installed, statically
# (bench-dtls-floor-static). bench-node runs both from its own directory.
pkg_check_modules(PKC_BENCH_OPENSSL IMPORTED_TARGET openssl)
if(PKC_BENCH_OPENSSL_FOUND)
  add_executable(bench-dtls-floor ${CMAKE_CURRENT_LIST_DIR}/floor/dtls_floor.c
                 ${CMAKE_CURRENT_LIST_DIR}/self_rss.c)
  target_link_libraries(bench-dtls-floor PRIVATE PkgConfig::PKC_BENCH_OPENSSL)
  add_dependencies(bench-node bench-dtls-floor)
  find_library(PKC_BENCH_SSL_A libssl.a)
  find_library(PKC_BENCH_CRYPTO_A libcrypto.a)
  if(PKC_BENCH_SSL_A AND PKC_BENCH_CRYPTO_A AND NOT PKC_SANITIZE)
    add_executable(bench-dtls-floor-static ${CMAKE_CURRENT_LIST_DIR}/floor/dtls_floor.c
                 ${CMAKE_CURRENT_LIST_DIR}/self_rss.c)
    # glibc's libc.a warns that dlopen and getaddrinfo (reached from code of
    # OpenSSL this program never runs) need glibc's shared libraries at run
    # time: true, and of no consequence here, so the linker is kept quiet.
    target_link_options(bench-dtls-floor-static PRIVATE -static LINKER:--no-warnings)
    target_link_libraries(bench-dtls-floor-static PRIVATE ${PKC_BENCH_SSL_A} ${PKC_BENCH_CRYPTO_A}
                          pthread ${CMAKE_DL_LIBS})
    add_dependencies(bench-node bench-dtls-floor-static)
  endif()
endif()
