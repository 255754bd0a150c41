#!/bin/sh
# test_alloc_flat_pipe.sh — test_alloc_flat.sh with media.room_spread_at 75:
# half of the 150 subscribers are on the second worker, fed through the
# pipe (media/pipe.h), whose push, wake and drain must not allocate either.
ALLOC_FLAT_SPREAD=75 exec sh "$top_srcdir/tests/integration/test_alloc_flat.sh"
