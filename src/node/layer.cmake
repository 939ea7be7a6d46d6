# node: the runtime (libuv event loop, UDP sockets, timers); jansson for the
# control socket's JSON lines and documents set from JSON.
list(APPEND PKC_PKG_MODULES libuv jansson)
# DNS over HTTPS (src/node/doh.c): libcurl, HTTP/2 over TLS.
list(APPEND PKC_PKG_MODULES libcurl)
