/*
 * clock.h — time sources.  Monotonic milliseconds for timeouts and rate
 * limits; wall-clock milliseconds for tokens and records; the contract's
 * timestamp text ("2021-12-06T15:55:26.552+0800", local offset).  Thread-safe.
 */
#ifndef IRTC_CLOCK_H
#define IRTC_CLOCK_H

#include <stdint.h>
#include <stddef.h>

uint64_t clock_mono_ms(void);
uint64_t clock_mono_us(void);
uint64_t clock_wall_ms(void);
uint64_t clock_wall_ns(void);
struct msghdr;
/* The kernel's receive time of a datagram read with SO_TIMESTAMPNS on, in
 * wall-clock (CLOCK_REALTIME) nanoseconds: 0 when mh carries none. */
uint64_t clock_rx_stamp_ns(const struct msghdr *mh);
/* Writes the contract's envelope timestamp for wall_ms into out (>= 32 bytes). */
void clock_format_contract(uint64_t wall_ms, char *out, size_t cap);
/* Writes YYYYMMDD (local time) for wall_ms. */
void clock_format_date(uint64_t wall_ms, char *out, size_t cap);
/* Writes YYYYMMDDHHMMSS (local time) for wall_ms. */
void clock_format_datetime(uint64_t wall_ms, char *out, size_t cap);

#endif
