// Preloaded (node --import) into y-webrtc's signaling server, bin/server.js,
// which listens on every interface: binds it to 127.0.0.1 only, without
// editing the package.
import http from 'node:http'
const listen = http.Server.prototype.listen
http.Server.prototype.listen = function (port, ...rest) {
    if (typeof port === 'number' || typeof port === 'string') {
        const cb = rest.find(a => typeof a === 'function')
        return listen.call(this, Number(port), '127.0.0.1', ...(cb ? [cb] : []))
    }
    return listen.call(this, port, ...rest)
}
