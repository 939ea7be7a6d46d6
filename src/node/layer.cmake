# node: the runtime (libuv event loop, UDP sockets, timers); jansson for the
# control socket's JSON lines and documents set from JSON.
list(APPEND PKC_PKG_MODULES libuv jansson)
# DNS over HTTPS (src/node/doh.c): libcurl, HTTP/2 over TLS. Not linked:
# doh.c opens it with dlopen() when a resolver is first set up, so that its
# thirty libraries are not mapped into every process of libpkc. Its header
# is used at build time; PKC_CURL_SONAME is what doh.c opens.
pkg_check_modules(PKC_CURL REQUIRED libcurl)
set(PKC_CURL_SONAME "libcurl.so.4" CACHE STRING "the libcurl doh.c opens at run time")
if(NOT EXISTS "${PKC_CURL_LIBDIR}/${PKC_CURL_SONAME}")
  message(FATAL_ERROR "libcurl: ${PKC_CURL_LIBDIR}/${PKC_CURL_SONAME} not found (set PKC_CURL_SONAME)")
endif()
list(APPEND PKC_PRIVATE_DEFINES "PKC_CURL_SONAME=\"${PKC_CURL_SONAME}\"")
list(APPEND PKC_PRIVATE_INCLUDES ${PKC_CURL_INCLUDE_DIRS})
