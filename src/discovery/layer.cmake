# discovery: DNS messages (queries, answers, RFC 2136 updates with TSIG) are
# built and parsed with ldns (src/discovery/dnsmsg.c), never by hand.
list(APPEND PKC_PKG_MODULES ldns)
