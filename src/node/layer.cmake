# node: the runtime (libuv event loop, UDP sockets, timers).
list(APPEND PKC_PKG_MODULES libuv)
