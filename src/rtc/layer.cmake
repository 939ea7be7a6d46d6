# rtc: WebRTC data channels (STUN, ICE, DTLS, SCTP, DCEP, SDP).
# OpenSSL: DTLS, certificates, HMAC-SHA1; usrsctp: SCTP; zlib: the STUN
# FINGERPRINT's CRC-32.
list(APPEND PKC_PKG_MODULES openssl usrsctp zlib)
