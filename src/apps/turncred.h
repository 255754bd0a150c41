/*
 * turncred.h — ephemeral TURN credentials in the scheme of the TURN REST API
 * (draft-uberti-behave-turn-rest-00) that coturn implements with
 * use-auth-secret / static-auth-secret: the username is
 * "<expiry, Unix seconds>:<userId>" and the password is
 * Base64(HMAC-SHA1(secret, username)).  The TURN server checks the HMAC
 * with the same shared secret and refuses the username once its time has
 * passed, so irtcd and the TURN server share nothing but the secret.
 *
 * Thread-safe: a pure function.  Does not choose the expiry (signaling
 * gives the join token's) or know which URIs are offered (media.turn).
 */
#ifndef IRTC_APPS_TURNCRED_H
#define IRTC_APPS_TURNCRED_H

#include <stddef.h>
#include <stdint.h>

#define TURNCRED_USER_MAX 96 /* 20 digits, ':', a 64-character userId, NUL */
#define TURNCRED_PASS_SIZE 29 /* Base64 of 20 bytes (28) + NUL */

/* IRTC_OK, or IRTC_EINVAL when user_id is too long for user. */
int turncred_make(const char *secret, const char *user_id, int64_t expiry_s, char user[TURNCRED_USER_MAX],
                  char pass[TURNCRED_PASS_SIZE]);

#endif
