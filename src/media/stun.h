/*
 * stun.h — STUN (RFC 5389 / RFC 8489) as an ICE-lite server needs it
 * (RFC 8445 §2.5, consent freshness RFC 7675): classify, parse and verify
 * Binding requests, build Binding success and error responses.
 *
 * Runs on the media worker threads, per packet: no locks, no logging, no
 * allocation except inside OpenSSL's HMAC keying (stun.c says why that is
 * acceptable).  Parsing never copies: pointers in stun_msg_t
 * point into the caller's buffer and live as long as it does.
 *
 * Also builds the Binding requests of a controlling agent, for the client
 * core.  Does not: keep ICE state (candidate pairs, nomination, consent timers),
 * look up transports by ufrag, or implement long-term credentials / TURN.
 */
#ifndef IRTC_MEDIA_STUN_H
#define IRTC_MEDIA_STUN_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <sys/socket.h>

#define STUN_HEADER_LEN 20
#define STUN_MAGIC_COOKIE 0x2112A442u
#define STUN_TXID_LEN 12
#define STUN_HMAC_LEN 20
/* RFC 8489 §14.3: USERNAME is less than 509 bytes; 513 is the classic bound. */
#define STUN_MAX_USERNAME 513

/* Message classes (RFC 5389 §6, the C1 C0 bits). */
typedef enum {
    STUN_CLASS_REQUEST = 0,
    STUN_CLASS_INDICATION = 1,
    STUN_CLASS_SUCCESS = 2,
    STUN_CLASS_ERROR = 3,
} stun_class_t;

#define STUN_METHOD_BINDING 0x001

/* Attribute types this module understands. */
enum {
    STUN_ATTR_MAPPED_ADDRESS = 0x0001,
    STUN_ATTR_USERNAME = 0x0006,
    STUN_ATTR_MESSAGE_INTEGRITY = 0x0008,
    STUN_ATTR_ERROR_CODE = 0x0009,
    STUN_ATTR_UNKNOWN_ATTRIBUTES = 0x000A,
    STUN_ATTR_REALM = 0x0014,
    STUN_ATTR_NONCE = 0x0015,
    STUN_ATTR_MESSAGE_INTEGRITY_SHA256 = 0x001C,
    STUN_ATTR_PASSWORD_ALGORITHM = 0x001D,
    STUN_ATTR_USERHASH = 0x001E,
    STUN_ATTR_XOR_MAPPED_ADDRESS = 0x0020,
    STUN_ATTR_PRIORITY = 0x0024,
    STUN_ATTR_USE_CANDIDATE = 0x0025,
    STUN_ATTR_SOFTWARE = 0x8022,
    STUN_ATTR_FINGERPRINT = 0x8028,
    STUN_ATTR_ICE_CONTROLLED = 0x8029,
    STUN_ATTR_ICE_CONTROLLING = 0x802A,
};

/* Error codes stun_build_error knows a reason phrase for. */
enum {
    STUN_ERR_BAD_REQUEST = 400,
    STUN_ERR_UNAUTHORIZED = 401,
    STUN_ERR_ROLE_CONFLICT = 487, /* RFC 8445 §7.3.1.1 */
    STUN_ERR_SERVER_ERROR = 500,
};

#define STUN_MAX_UNKNOWN 4

/* A parsed message.  Offsets are from the start of the message; 0 means the
 * attribute is absent (no attribute can start inside the 20-byte header). */
typedef struct {
    uint16_t type;   /* raw message type field */
    uint16_t method; /* STUN_METHOD_BINDING ... */
    stun_class_t cls;
    uint16_t length; /* header length field (body bytes) */
    uint8_t txid[STUN_TXID_LEN];

    const uint8_t *username; /* not NUL-terminated */
    uint16_t username_len;
    bool has_priority;
    uint32_t priority;
    bool use_candidate;
    bool has_ice_controlling;
    bool has_ice_controlled;
    uint64_t tie_breaker; /* from whichever of the two came first */

    bool has_error_code;
    uint16_t error_code; /* class*100 + number */

    size_t xor_mapped_off; /* XOR-MAPPED-ADDRESS attribute header */
    size_t integrity_off;  /* MESSAGE-INTEGRITY attribute header */
    size_t fingerprint_off;
    uint32_t fingerprint; /* value as carried, host order */

    /* Comprehension-required attributes we do not understand (RFC 5389 §7.3.1:
     * a request carrying any must be answered 420); only the first few kept. */
    uint8_t n_unknown;
    uint16_t unknown[STUN_MAX_UNKNOWN];
} stun_msg_t;

/* Cheap demux test (RFC 7983 first byte 0..3, magic cookie, length field a
 * multiple of 4 that matches the datagram).  Does not walk attributes.  The
 * first-byte rule limits methods to 0xFF, which covers every ICE method. */
bool stun_is_stun(const uint8_t *buf, size_t len);

/* Validates header, length and every attribute's TLV bounds and fixed sizes,
 * and fills *out.  Attributes after MESSAGE-INTEGRITY other than FINGERPRINT
 * are ignored (RFC 5389 §15.4); anything after FINGERPRINT is an error; for a
 * repeated attribute the first one counts.  Returns IRTC_OK, IRTC_EINVAL
 * (not STUN / truncated / malformed).  *why, if not NULL, gets a static reason. */
int stun_parse(const uint8_t *buf, size_t len, stun_msg_t *out, const char **why);

/* HMAC-SHA1 of the message up to MESSAGE-INTEGRITY with the length field as
 * RFC 5389 §15.4 says, compared in constant time with the carried value.
 * pwd is the short-term credential (ICE password) as raw bytes.  Returns
 * IRTC_OK, IRTC_ENOTFOUND (no MESSAGE-INTEGRITY) or IRTC_ECRYPTO (mismatch). */
int stun_check_integrity(const uint8_t *buf, size_t len, const stun_msg_t *m, const char *pwd, size_t pwdlen);

/* CRC-32 XOR 0x5354554e (RFC 5389 §15.5).  Returns IRTC_OK, IRTC_ENOTFOUND
 * (no FINGERPRINT) or IRTC_ECRYPTO (mismatch). */
int stun_check_fingerprint(const uint8_t *buf, size_t len, const stun_msg_t *m);

/* Decodes XOR-MAPPED-ADDRESS into a sockaddr_in / sockaddr_in6.  Returns
 * IRTC_OK, IRTC_ENOTFOUND (absent) or IRTC_EINVAL (bad family or length). */
int stun_get_xor_mapped(const uint8_t *buf, size_t len, const stun_msg_t *m, struct sockaddr_storage *out);

/* Binding success response: XOR-MAPPED-ADDRESS (mapped is AF_INET or
 * AF_INET6), then MESSAGE-INTEGRITY keyed with pwd (omitted if pwd is NULL),
 * then FINGERPRINT.  Returns bytes written, or 0 if cap is too small or the
 * family is unsupported.  At most STUN_BINDING_SUCCESS_MAX. */
#define STUN_BINDING_SUCCESS_MAX (STUN_HEADER_LEN + 24 + 24 + 8)
size_t stun_build_binding_success(uint8_t *out, size_t cap, const uint8_t txid[STUN_TXID_LEN],
                                  const struct sockaddr *mapped, const char *pwd, size_t pwdlen);

/* Error response for method (at most 0xFF, so the first byte stays in RFC
 * 7983's 0..3) with ERROR-CODE (code one of STUN_ERR_*), then
 * MESSAGE-INTEGRITY when applicable, then FINGERPRINT.  400 and 401 never carry
 * MESSAGE-INTEGRITY, whatever pwd is: they answer a request whose credentials
 * were missing or wrong (RFC 5389 §10.1.2).  487 is keyed with pwd (the request
 * passed its integrity check).  Returns bytes written, 0 on unknown code or
 * small cap.  At most STUN_ERROR_MAX bytes. */
#define STUN_ERROR_MAX 128
size_t stun_build_error(uint8_t *out, size_t cap, const uint8_t txid[STUN_TXID_LEN], uint16_t method, int code,
                        const char *pwd, size_t pwdlen);

/* Binding request of an ICE agent (RFC 8445 §7.1.1): USERNAME
 * ("remoteUfrag:localUfrag"), PRIORITY, ICE-CONTROLLING or ICE-CONTROLLED
 * with tie_breaker, USE-CANDIDATE if asked, MESSAGE-INTEGRITY keyed with the
 * remote password, FINGERPRINT.  For the client core (src/client), which is
 * the controlling agent against an ICE-lite server.  Returns bytes written,
 * or 0 if cap is too small, or username is empty or too long. */
#define STUN_BINDING_REQUEST_MAX (STUN_HEADER_LEN + 4 + STUN_MAX_USERNAME + 3 + 8 + 12 + 4 + 24 + 8)
size_t stun_build_binding_request(uint8_t *out, size_t cap, const uint8_t txid[STUN_TXID_LEN], const char *username,
                                  uint32_t priority, bool controlling, uint64_t tie_breaker, bool use_candidate,
                                  const char *pwd, size_t pwdlen);

/* Splits an ICE USERNAME "serverUfrag:clientUfrag" (RFC 8445 §7.2.2: the
 * receiver's fragment comes first).  Both parts must be non-empty and the
 * second must not contain ':'.  Returns IRTC_OK or IRTC_EINVAL. */
int stun_username_split(const uint8_t *user, size_t len, const uint8_t **server_ufrag, size_t *server_len,
                        const uint8_t **client_ufrag, size_t *client_len);

/* CRC-32 (IEEE 802.3, as zlib) continuing from crc (start with 0). */
uint32_t stun_crc32(uint32_t crc, const uint8_t *p, size_t n);


#endif
