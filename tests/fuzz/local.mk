# tests/fuzz/local.mk — included by Makefile.am: the libFuzzer targets
# (make check-fuzz) and the ASan + UBSan build of the whole suite
# (make check-sanitize).  Kept apart from Makefile.am so that branches adding
# sources there and this file rarely touch the same lines.  docs/TESTING.md
# says how to run them longer.

# ---- fuzzers ----
# Built with clang whatever compiler configure chose: `make check-fuzz`
# re-enters make with CC=$(FUZZ_CC).  The per-target CFLAGS give the fuzz
# objects names of their own, so they never mix with the daemon's.
FUZZ_CC = clang
FUZZ_SAN = -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
# Seconds per target (make check-fuzz FUZZ_SECONDS=600 for a longer run) and
# how many run at once.
FUZZ_SECONDS = 30
FUZZ_JOBS = 2

fuzz_targets = \
	tests/fuzz/fuzz_json \
	tests/fuzz/fuzz_stun \
	tests/fuzz/fuzz_rtp \
	tests/fuzz/fuzz_sdp \
	tests/fuzz/fuzz_twcc \
	tests/fuzz/fuzz_twcc_send \
	tests/fuzz/fuzz_dtls \
	tests/fuzz/fuzz_sctp \
	tests/fuzz/fuzz_config \
	tests/fuzz/fuzz_jointoken \
	tests/fuzz/fuzz_api_fields \
	tests/fuzz/fuzz_rec_path \
	tests/fuzz/fuzz_depack \
	tests/fuzz/fuzz_http \
	tests/fuzz/fuzz_signal \
	tests/fuzz/fuzz_cluster_msg \
	tests/fuzz/fuzz_tcpframe

EXTRA_LIBRARIES = tests/fuzz/libirtc_fuzz.a
tests_fuzz_libirtc_fuzz_a_SOURCES = $(libirtc_a_SOURCES)
tests_fuzz_libirtc_fuzz_a_CFLAGS = $(AM_CFLAGS) $(FUZZ_SAN)

FUZZ_LIBS = tests/fuzz/libirtc_fuzz.a $(H2O_LIBS) $(OPENSSL_LIBS) $(WSLAY_LIBS) $(SRTP_LIBS) $(USRSCTP_LIBS) \
	$(SQLITE_LIBS) $(YAML_LIBS) $(FFMPEG_LIBS) $(HIREDIS_LIBS) -lm
FUZZ_LINK_FLAGS = -fsanitize=fuzzer,address,undefined

EXTRA_PROGRAMS += $(fuzz_targets)
tests_fuzz_fuzz_tcpframe_SOURCES = tests/fuzz/fuzz_tcpframe.c
tests_fuzz_fuzz_tcpframe_CFLAGS = $(AM_CFLAGS) $(FUZZ_SAN)
tests_fuzz_fuzz_tcpframe_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_tcpframe_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_json_SOURCES = tests/fuzz/fuzz_json.c
tests_fuzz_fuzz_json_CFLAGS = $(AM_CFLAGS) $(FUZZ_SAN)
tests_fuzz_fuzz_json_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_json_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_stun_SOURCES = tests/fuzz/fuzz_stun.c
tests_fuzz_fuzz_stun_CFLAGS = $(AM_CFLAGS) $(FUZZ_SAN)
tests_fuzz_fuzz_stun_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_stun_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_rtp_SOURCES = tests/fuzz/fuzz_rtp.c
tests_fuzz_fuzz_rtp_CFLAGS = $(AM_CFLAGS) $(FUZZ_SAN)
tests_fuzz_fuzz_rtp_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_rtp_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_sdp_SOURCES = tests/fuzz/fuzz_sdp.c
tests_fuzz_fuzz_sdp_CFLAGS = $(AM_CFLAGS) $(FUZZ_SAN)
tests_fuzz_fuzz_sdp_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_sdp_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_twcc_SOURCES = tests/fuzz/fuzz_twcc.c
tests_fuzz_fuzz_twcc_CFLAGS = $(AM_CFLAGS) $(FUZZ_SAN)
tests_fuzz_fuzz_twcc_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_twcc_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_twcc_send_SOURCES = tests/fuzz/fuzz_twcc_send.c
tests_fuzz_fuzz_twcc_send_CFLAGS = $(AM_CFLAGS) $(FUZZ_SAN)
tests_fuzz_fuzz_twcc_send_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_twcc_send_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_dtls_SOURCES = tests/fuzz/fuzz_dtls.c
tests_fuzz_fuzz_dtls_CFLAGS = $(AM_CFLAGS) $(FUZZ_SAN)
tests_fuzz_fuzz_dtls_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_dtls_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_sctp_SOURCES = tests/fuzz/fuzz_sctp.c
tests_fuzz_fuzz_sctp_CFLAGS = $(AM_CFLAGS) $(FUZZ_SAN)
tests_fuzz_fuzz_sctp_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_sctp_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_config_SOURCES = tests/fuzz/fuzz_config.c
tests_fuzz_fuzz_config_CFLAGS = $(AM_CFLAGS) $(FUZZ_SAN)
tests_fuzz_fuzz_config_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_config_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_jointoken_SOURCES = tests/fuzz/fuzz_jointoken.c
tests_fuzz_fuzz_jointoken_CFLAGS = $(AM_CFLAGS) $(FUZZ_SAN)
tests_fuzz_fuzz_jointoken_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_jointoken_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_api_fields_SOURCES = tests/fuzz/fuzz_api_fields.c
tests_fuzz_fuzz_api_fields_CFLAGS = $(AM_CFLAGS) $(FUZZ_SAN)
tests_fuzz_fuzz_api_fields_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_api_fields_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_rec_path_SOURCES = tests/fuzz/fuzz_rec_path.c
tests_fuzz_fuzz_rec_path_CFLAGS = $(AM_CFLAGS) $(FUZZ_SAN)
tests_fuzz_fuzz_rec_path_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_rec_path_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_depack_SOURCES = tests/fuzz/fuzz_depack.c
tests_fuzz_fuzz_depack_CFLAGS = $(AM_CFLAGS) $(FUZZ_SAN)
tests_fuzz_fuzz_depack_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_depack_LDFLAGS = $(FUZZ_LINK_FLAGS)

tests_fuzz_fuzz_http_SOURCES = tests/fuzz/fuzz_http.c
tests_fuzz_fuzz_http_CFLAGS = $(AM_CFLAGS) $(FUZZ_SAN)
tests_fuzz_fuzz_http_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_http_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_signal_SOURCES = tests/fuzz/fuzz_signal.c
tests_fuzz_fuzz_signal_CFLAGS = $(AM_CFLAGS) $(FUZZ_SAN)
tests_fuzz_fuzz_signal_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_signal_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_cluster_msg_SOURCES = tests/fuzz/fuzz_cluster_msg.c
tests_fuzz_fuzz_cluster_msg_CFLAGS = $(AM_CFLAGS) $(FUZZ_SAN)
tests_fuzz_fuzz_cluster_msg_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_cluster_msg_LDFLAGS = $(FUZZ_LINK_FLAGS)
# Builds every target with clang, then runs each for FUZZ_SECONDS on its
# committed corpus (tests/fuzz/corpus/NAME, read-only; new inputs go to
# tests/fuzz/work/NAME in the build tree).  A crash leaves its input in
# tests/fuzz/crash-NAME-* and fails the target.
check-fuzz:
	$(MAKE) $(AM_MAKEFLAGS) CC='$(FUZZ_CC)' SAN_CFLAGS= $(fuzz_targets)
	printf '%s\n' $(fuzz_targets) | xargs -P '$(FUZZ_JOBS)' -I '{}' \
		$(SHELL) '$(srcdir)/tests/fuzz/run.sh' '{}' '$(srcdir)/tests/fuzz/corpus' '$(FUZZ_SECONDS)'
.PHONY: check-fuzz

EXTRA_DIST += tests/fuzz/corpus tests/fuzz/run.sh tests/fuzz/fuzz.h tests/fuzz/fuzz_server.h tests/sanitize
CLEANFILES += tests/fuzz/*.log
clean-local: clean-fuzz
clean-fuzz:
	rm -rf tests/fuzz/work
.PHONY: clean-fuzz

# ---- sanitizer build ----
# The whole suite (make check: unit and integration) against an ASan + UBSan
# build of the daemon and the tests, configured in SAN_DIR from a clean copy
# of the sources (make distdir), so it works whether this tree was configured
# in place or not.  -fno-sanitize-recover makes UB abort; library leaks we
# cannot fix are suppressed, each with its reason, in tests/sanitize/lsan.supp.
# Reports go to SAN_DIR/reports rather than to the daemon's log, and any
# report fails the run, even one a test did not notice.  IRTC_TEST_SLOW=3 tells the
# integration tests the build is slower (tests/integration/irtctest.py).
SAN_CC = $(CC)
SAN_DIR = sanitize
SAN_ENV = ASAN_OPTIONS='abort_on_error=1:detect_leaks=1:log_path=$(abs_builddir)/$(SAN_DIR)/reports/asan' \
	LSAN_OPTIONS='suppressions=$(abs_srcdir)/tests/sanitize/lsan.supp:print_suppressions=0' \
	UBSAN_OPTIONS='print_stacktrace=1:halt_on_error=1:log_path=$(abs_builddir)/$(SAN_DIR)/reports/ubsan' \
	IRTC_TEST_SLOW=3
check-sanitize: distdir
	rm -rf '$(SAN_DIR)' && mkdir -p '$(SAN_DIR)/reports'
	cd '$(SAN_DIR)' && '$(abs_builddir)/$(distdir)/configure' -q CC='$(SAN_CC)' --enable-sanitize --enable-werror \
		CFLAGS='-g -O1 -fno-sanitize-recover=undefined'
	cd '$(SAN_DIR)' && $(MAKE) $(AM_MAKEFLAGS) -s
	status=0; cd '$(SAN_DIR)' && $(SAN_ENV) $(MAKE) $(AM_MAKEFLAGS) check || status=$$?; \
	for f in tests/*/*.log; do \
		case "$$f" in *test-suite.log) continue;; esac; \
		if grep -q '^:test-result: \(FAIL\|ERROR\)' "$${f%.log}.trs" 2>/dev/null; then echo "==== $(SAN_DIR)/$$f"; cat "$$f"; fi; \
	done; \
	for r in reports/*; do [ -f "$$r" ] || continue; echo "==== sanitizer report $(SAN_DIR)/$$r"; cat "$$r"; status=1; done; \
	exit $$status
.PHONY: check-sanitize
clean-local: clean-sanitize
clean-sanitize:
	rm -rf '$(SAN_DIR)' '$(distdir)'
.PHONY: clean-sanitize
