/*
 * alloccount.c — an LD_PRELOAD allocation counter for test_alloc_flat.sh:
 * counts malloc, calloc, realloc, memalign-family calls and frees made by
 * the threads whose name starts with "irtc-media-" (the media workers) into a
 * file shared with the test (IRTC_ALLOC_COUNT_FILE, mapped MAP_SHARED), so
 * the test reads the counts of a running irtcd at any moment without
 * stopping it.  Without IRTC_ALLOC_COUNT_FILE it counts nothing.
 *
 * The file holds uint64_t counters: [0] allocations by media threads,
 * [1] frees by media threads, [2] allocations by every thread.  Forwards
 * everything to glibc's __libc_* entry points.  Built as a shared object
 * (-fPIC -shared), never linked into irtcd.
 */
#include <fcntl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t align, size_t n);
extern void __libc_free(void *p);

static _Atomic uint64_t *counts;
/* -1 unknown, 0 not a media worker, 1 a media worker (names are set once,
 * at the thread's start, before it allocates). Initial-exec: reading it
 * must not allocate. */
static __thread __attribute__((tls_model("initial-exec"))) int media = -1;
static __thread __attribute__((tls_model("initial-exec"))) unsigned recheck;

__attribute__((constructor)) static void alloccount_init(void)
{
    extern char **environ;
    const char *path = NULL;
    for (char **e = environ; e != NULL && *e != NULL; e++)
        if (strncmp(*e, "IRTC_ALLOC_COUNT_FILE=", 22) == 0)
            path = *e + 22;
    if (path == NULL)
        return;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return;
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p != MAP_FAILED)
        counts = p;
}

static int is_media(void)
{
    if (media == 1)
        return 1;
    if (media < 0 || (++recheck & 1023) == 0) { /* a thread may name itself after its first allocation */
        char name[17] = {0};
        media = prctl(PR_GET_NAME, name, 0, 0, 0) == 0 && strncmp(name, "irtc-media-", 11) == 0;
    }
    return media;
}

static void count_alloc(void)
{
    if (counts == NULL)
        return;
    atomic_fetch_add_explicit(&counts[2], 1, memory_order_relaxed);
    if (is_media())
        atomic_fetch_add_explicit(&counts[0], 1, memory_order_relaxed);
}

void *malloc(size_t n)
{
    count_alloc();
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    count_alloc();
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    count_alloc();
    return __libc_realloc(p, n);
}

void *memalign(size_t align, size_t n)
{
    count_alloc();
    return __libc_memalign(align, n);
}

void *aligned_alloc(size_t align, size_t n)
{
    count_alloc();
    return __libc_memalign(align, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    count_alloc();
    void *p = __libc_memalign(align, n);
    if (p == NULL)
        return 12; /* ENOMEM */
    *out = p;
    return 0;
}

void free(void *p)
{
    if (p != NULL && counts != NULL && is_media())
        atomic_fetch_add_explicit(&counts[1], 1, memory_order_relaxed);
    __libc_free(p);
}
