/* dcep.c: DCEP messages (RFC 8832). */
#include "rtc/dcep.h"

#include "util/err.h"
#include "util/text.h"

int pkc_dcep_parse(const uint8_t *p, size_t n, uint8_t *type, pkc_dcep_open *open)
{
    pkc_reader r;
    pkc_reader_init(&r, p, n);
    uint8_t t;
    if (pkc_reader_u8(&r, &t) != 0)
        return pkc_error(PKC_ERR_TRUNCATED, "DCEP: empty message");
    if (t == PKC_DCEP_ACK) {
        if (pkc_reader_left(&r) != 0)
            return pkc_error(PKC_ERR_MALFORMED, "DCEP ACK: %zu trailing bytes", pkc_reader_left(&r));
        *type = t;
        return 0;
    }
    if (t != PKC_DCEP_OPEN)
        return pkc_error(PKC_ERR_MALFORMED, "DCEP: unknown message type 0x%02x", t);
    pkc_dcep_open o;
    uint16_t ll, pl;
    const uint8_t *label, *proto;
    if (pkc_reader_u8(&r, &o.channel_type) || pkc_reader_u16be(&r, &o.priority) ||
        pkc_reader_u32be(&r, &o.reliability) || pkc_reader_u16be(&r, &ll) ||
        pkc_reader_u16be(&r, &pl))
        return pkc_error(PKC_ERR_TRUNCATED, "DCEP OPEN: %zu bytes, shorter than the 12-byte header", n);
    if (pkc_reader_left(&r) != (size_t)ll + pl)
        return pkc_error(pkc_reader_left(&r) < (size_t)ll + pl ? PKC_ERR_TRUNCATED : PKC_ERR_MALFORMED,
                         "DCEP OPEN: label (%u) and protocol (%u) lengths do not match the %zu bytes after the header",
                         (unsigned)ll, (unsigned)pl, pkc_reader_left(&r));
    uint8_t rel = o.channel_type & (uint8_t)~PKC_DCEP_UNORDERED_BIT;
    if (rel > PKC_DCEP_PARTIAL_RELIABLE_TIMED)
        return pkc_error(PKC_ERR_MALFORMED, "DCEP OPEN: unknown channel type 0x%02x", o.channel_type);
    pkc_reader_bytes(&r, ll, &label);
    pkc_reader_bytes(&r, pl, &proto);
    size_t bad;
    if (!pkc_utf8_valid(label, ll, &bad))
        return pkc_error(PKC_ERR_MALFORMED, "DCEP OPEN: label is not UTF-8 (byte %zu)", bad);
    if (!pkc_utf8_valid(proto, pl, &bad))
        return pkc_error(PKC_ERR_MALFORMED, "DCEP OPEN: protocol is not UTF-8 (byte %zu)", bad);
    o.label = (const char *)label;
    o.label_len = ll;
    o.protocol = (const char *)proto;
    o.protocol_len = pl;
    *type = t;
    *open = o;
    return 0;
}

int pkc_dcep_write_open(pkc_buf *b, const pkc_dcep_open *o)
{
    if (o->label_len > 0xffff || o->protocol_len > 0xffff)
        return pkc_error(PKC_ERR_TOO_LARGE, "DCEP OPEN: label or protocol over 65535 bytes");
    pkc_buf_push_u8(b, PKC_DCEP_OPEN);
    pkc_buf_push_u8(b, o->channel_type);
    pkc_buf_push_u16be(b, o->priority);
    pkc_buf_push_u32be(b, o->reliability);
    pkc_buf_push_u16be(b, (uint16_t)o->label_len);
    pkc_buf_push_u16be(b, (uint16_t)o->protocol_len);
    pkc_buf_push(b, o->label, o->label_len);
    pkc_buf_push(b, o->protocol, o->protocol_len);
    return b->err;
}

int pkc_dcep_write_ack(pkc_buf *b)
{
    return pkc_buf_push_u8(b, PKC_DCEP_ACK);
}
