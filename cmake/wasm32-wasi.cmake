# CMake toolchain file: WebAssembly (wasm32-wasi) with Debian's clang, wasm-ld
# and wasi-libc (packages clang, lld, wasi-libc, libclang-rt-14-dev-wasm32).
# Used by `make web` for web/CMakeLists.txt; the native build never reads it.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR wasm32)
set(CMAKE_C_COMPILER clang)
set(CMAKE_C_COMPILER_TARGET wasm32-wasi)
set(CMAKE_EXECUTABLE_SUFFIX .wasm)
# wasi-libc's headers and libraries are where clang looks for this target
# (/usr/include/wasm32-wasi, /usr/lib/wasm32-wasi): no sysroot flag.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
