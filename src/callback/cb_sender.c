/*
 * cb_sender.c — the callback sender thread: takes due rows from the outbox,
 * POSTs them one at a time (cb_http.c), and writes the outcome back.
 *
 * The thread owns its store connection and its HTTP client; the control
 * thread only starts, stops and kicks it (an eventfd) and reads counters
 * (atomics).  The outbox is the queue: nothing is held in memory between
 * passes, so rows inserted by another process (irtcd callback test) or left
 * by a previous run are found by the next look, at most CB_IDLE_POLL_MS
 * later.  Delivery is at least once: a 2xx is recorded and never sent
 * again, but an attempt cut short by shutdown, or a 2xx whose row cannot be
 * updated, is sent again later.
 *
 * cb_sender_collect writes its counters for /metrics; whoever starts the
 * sender registers it (core/metrics.h) and reads the atomics on the control
 * thread.
 */
#include "callback/cb_sender.h"
#include "callback/callback.h"
#include "callback/cb_http.h"
#include "core/clock.h"
#include "core/common.h"
#include "core/log.h"
#include "core/metrics.h"
#include "store/store.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define CB_LOG "callback"
#define CB_BATCH 16                                          /* rows per look at the outbox */
#define CB_IDLE_POLL_MS 1000                                 /* look even without a kick (other processes) */
#define CB_PURGE_EVERY_MS ((int64_t)3600 * 1000)             /* forget delivered rows ... */
#define CB_KEEP_DELIVERED_MS ((int64_t)7 * 24 * 3600 * 1000) /* ... a week after delivery */

struct cb_sender {
    pthread_t tid;
    int wake_fd;
    _Atomic bool stop;
    store_t *st;     /* sender thread */
    cb_http_t *http; /* sender thread */
    cb_retry_policy_t policy;
    uint64_t timeout_ms;
    bool store_failed; /* sender thread: an outcome could not be written this pass */
    _Atomic uint64_t delivered, failed_attempts, given_up, queue_depth;
};

/* ---- one row ---- */

/* X-HW-SIGN goes into a header line: Base64 only, so a damaged row cannot
 * inject headers. */
static bool signature_ok(const char *s)
{
    if (s == NULL)
        return true;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '+' ||
              *s == '/' || *s == '='))
            return false;
    return true;
}

static void record_failure(cb_sender_t *s, const store_outbox_t *row, const char *error, bool permanent)
{
    int64_t now = (int64_t)clock_wall_ms();
    int attempts = row->attempts + 1;
    int64_t next = permanent ? INT64_MAX : cb_retry_next(&s->policy, attempts, row->created_at_ms, now);
    char text[640];

    atomic_fetch_add(&s->failed_attempts, 1);
    if (next == INT64_MAX) {
        atomic_fetch_add(&s->given_up, 1);
        snprintf(text, sizeof(text), "%s; given up after %d attempt%s", error, attempts, attempts == 1 ? "" : "s");
        log_error(CB_LOG, "callback %" PRId64 " (app %s) given up: %s", row->id, row->app_id, text);
    } else {
        snprintf(text, sizeof(text), "%s", error);
        log_warn(CB_LOG, "callback %" PRId64 " (app %s) attempt %d failed: %s; next in %" PRId64 " ms", row->id,
                 row->app_id, attempts, error, next - now);
    }
    int rc = store_outbox_mark_failed(s->st, row->id, attempts, next, text);
    if (rc != IRTC_OK && rc != IRTC_ENOTFOUND) {
        s->store_failed = true;
        log_error(CB_LOG, "callback %" PRId64 ": cannot record the failed attempt: %s", row->id, irtc_strerror(rc));
    }
}

/* One attempt.  Returns false when stopped (the row is left as it was). */
static bool deliver(cb_sender_t *s, const store_outbox_t *row)
{
    cb_url_t url;
    const char *why = NULL;
    cb_http_result_t res;
    cb_http_cancel_t cancel = {.wake_fd = s->wake_fd, .stop = &s->stop};
    char text[600];

    /* Neither a bad URL nor a bad row gets better with time: no retries. */
    if (cb_url_parse(row->url, &url, &why) != IRTC_OK) {
        snprintf(text, sizeof(text), "bad URL: %s", why);
        record_failure(s, row, text, true);
        return true;
    }
    if (!signature_ok(row->signature)) {
        record_failure(s, row, "the stored X-HW-SIGN value is not Base64", true);
        return true;
    }
    int rc = cb_http_post(s->http, &url, row->body, strlen(row->body), row->signature, s->timeout_ms, &cancel, &res);
    if (rc == IRTC_EAGAIN)
        return false;
    if (rc != IRTC_OK) {
        record_failure(s, row, res.error, false);
        return true;
    }
    atomic_fetch_add(&s->delivered, 1);
    log_info(CB_LOG, "callback %" PRId64 " (app %s) delivered to %s: HTTP %d after %d earlier attempt%s", row->id,
             row->app_id, url.host, res.status, row->attempts, row->attempts == 1 ? "" : "s");
    rc = store_outbox_mark_delivered(s->st, row->id, (int64_t)clock_wall_ms());
    if (rc != IRTC_OK && rc != IRTC_ENOTFOUND) {
        s->store_failed = true;
        log_error(CB_LOG, "callback %" PRId64 ": delivered but cannot record it (it will be sent again): %s", row->id,
                  irtc_strerror(rc));
    }
    return true;
}

/* ---- the loop ---- */

/* Sleeps up to ms, or until kicked or stopped. */
static void idle(cb_sender_t *s, int64_t ms)
{
    struct pollfd p = {.fd = s->wake_fd, .events = POLLIN};
    if (ms <= 0)
        return;
    if (poll(&p, 1, ms > CB_IDLE_POLL_MS ? CB_IDLE_POLL_MS : (int)ms) > 0) {
        uint64_t v;
        if (read(s->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
            log_ratelimited(LOG_LEVEL_ERROR, CB_LOG, 60000, "wake descriptor: %s", strerror(errno));
    }
}

/* Sends every due row.  Returns false when stopped or the store failed (a
 * row whose outcome was not written is still due: looking again at once
 * would send it again at full speed). */
static bool send_due(cb_sender_t *s)
{
    store_outbox_t *rows;
    size_t n;
    s->store_failed = false;
    do {
        if (store_outbox_due(s->st, (int64_t)clock_wall_ms(), CB_BATCH, &rows, &n) != IRTC_OK)
            return false;
        bool go = true;
        for (size_t i = 0; i < n && go; i++)
            go = !atomic_load(&s->stop) && deliver(s, &rows[i]);
        store_outbox_list_free(rows, n);
        if (!go || s->store_failed)
            return false;
    } while (n > 0); /* a failed row is rescheduled at least retry_min later, so this ends */
    return true;
}

static void *sender_main(void *arg)
{
    cb_sender_t *s = arg;
    int64_t last_purge = 0;
    sigset_t sigpipe;
    /* OpenSSL writes with write(2): a receiver that hangs up must cost an
     * EPIPE, not the process (irtcd ignores SIGPIPE too; this holds for any
     * embedding). */
    sigemptyset(&sigpipe);
    sigaddset(&sigpipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &sigpipe, NULL);
    while (!atomic_load(&s->stop)) {
        bool store_ok = send_due(s);
        if (atomic_load(&s->stop))
            break; /* its wake was consumed by the request it cut short */
        int64_t pending, next, now = (int64_t)clock_wall_ms();
        if (store_outbox_pending(s->st, &pending, &next) == IRTC_OK)
            atomic_store(&s->queue_depth, (uint64_t)pending);
        else
            next = INT64_MAX, store_ok = false;
        if (now - last_purge >= CB_PURGE_EVERY_MS) {
            int purged = store_outbox_purge_delivered(s->st, now - CB_KEEP_DELIVERED_MS);
            if (purged > 0)
                log_info(CB_LOG, "forgot %d callbacks delivered more than a week ago", purged);
            last_purge = now;
        }
        /* After a store error, wait a full poll interval rather than spin. */
        idle(s, store_ok && next < now + CB_IDLE_POLL_MS ? next - now : CB_IDLE_POLL_MS);
    }
    return NULL;
}

/* ---- control thread ---- */

void cb_sender_collect(buf_t *out, void *sender)
{
    cb_stats_t st;
    cb_sender_stats(sender, &st);
    metrics_header(out, "irtc_callbacks_delivered_total", "counter", "Recording callbacks answered with 2xx.");
    metrics_sample(out, "irtc_callbacks_delivered_total", NULL, (double)st.delivered);
    metrics_header(out, "irtc_callback_attempts_failed_total", "counter",
                   "Callback attempts that did not get a 2xx (refused, timeout, TLS, 3xx/4xx/5xx).");
    metrics_sample(out, "irtc_callback_attempts_failed_total", NULL, (double)st.failed_attempts);
    metrics_header(out, "irtc_callbacks_given_up_total", "counter",
                   "Callbacks abandoned: the retry window passed, or the URL is unusable.");
    metrics_sample(out, "irtc_callbacks_given_up_total", NULL, (double)st.given_up);
    metrics_header(out, "irtc_callback_queue_depth", "gauge", "Callbacks waiting to be delivered (outbox rows).");
    metrics_sample(out, "irtc_callback_queue_depth", NULL, (double)st.queue_depth);
}

static void sender_free(cb_sender_t *s)
{
    if (s->wake_fd >= 0)
        close(s->wake_fd);
    store_close(s->st);
    cb_http_free(s->http);
    free(s);
}

int cb_sender_start(const cfg_t *cfg, const char *db_path, cb_sender_t **out, char *err, size_t errcap)
{
    cb_sender_t *s = xcalloc(1, sizeof(*s));
    s->wake_fd = -1;
    *out = NULL;
    s->http = cb_http_new(cfg->callback_ca_file, err, errcap);
    if (s->http == NULL)
        goto fail;
    /* Opened here so that a failure is reported at start-up; the connection
     * belongs to the sender thread from pthread_create on. */
    if (store_open(db_path, &s->st, err, errcap) != IRTC_OK)
        goto fail;
    s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->wake_fd < 0) {
        snprintf(err, errcap, "eventfd: %s", strerror(errno));
        goto fail;
    }
    s->policy = (cb_retry_policy_t){cfg->callback_retry_min_ms, cfg->callback_retry_max_ms, cfg->callback_give_up_ms};
    s->timeout_ms = cfg->callback_timeout_ms;
    atomic_store(&s->stop, false);
    int prc = pthread_create(&s->tid, NULL, sender_main, s);
    if (prc != 0) {
        snprintf(err, errcap, "cannot start the callback sender thread: %s", strerror(prc));
        goto fail;
    }
    *out = s;
    return IRTC_OK;
fail:
    sender_free(s);
    return IRTC_EIO;
}

void cb_sender_kick(cb_sender_t *s)
{
    uint64_t one = 1;
    if (s != NULL && write(s->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        log_ratelimited(LOG_LEVEL_ERROR, CB_LOG, 60000, "cannot wake the sender: %s", strerror(errno));
}

void cb_sender_stop(cb_sender_t *s)
{
    if (s == NULL)
        return;
    uint64_t t0 = clock_mono_ms();
    atomic_store(&s->stop, true);
    cb_sender_kick(s);
    pthread_join(s->tid, NULL);
    sender_free(s);
    log_debug(CB_LOG, "sender stopped in %llu ms", (unsigned long long)(clock_mono_ms() - t0));
}

void cb_sender_stats(const cb_sender_t *s, cb_stats_t *out)
{
    out->delivered = atomic_load(&s->delivered);
    out->failed_attempts = atomic_load(&s->failed_attempts);
    out->given_up = atomic_load(&s->given_up);
    out->queue_depth = atomic_load(&s->queue_depth);
}
