/*
 * rec_path.c — templates, containment checks and the never-overwrite file
 * protocol for recordings; see rec_path.h.  Pure functions run on the control
 * thread, the filesystem ones on recorder threads.
 */
#include "record/rec_path.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/common.h"

static bool var_value_ok(const char *s)
{
    return s != NULL && strchr(s, '/') == NULL && strchr(s, '\\') == NULL && strstr(s, "..") == NULL;
}

int rec_path_expand(const char *tmpl, size_t len, const rec_path_vars_t *v, char *out, size_t cap, const char **why)
{
    static const char *ignored;
    const char **w = why ? why : &ignored;
    size_t o = 0;
    char date[16], datetime[24];
    clock_format_date(v->start_wall_ms, date, sizeof(date));
    clock_format_datetime(v->start_wall_ms, datetime, sizeof(datetime));
    if (memchr(tmpl, '\0', len) != NULL) {
        *w = "contains a NUL byte";
        return IRTC_EINVAL;
    }
    for (size_t i = 0; i < len;) {
        const char *val = NULL;
        size_t vlen, adv = 1;
        if (tmpl[i] == '{') {
            const char *close = memchr(tmpl + i, '}', len - i);
            if (close == NULL) {
                *w = "has an unterminated {variable}";
                return IRTC_EINVAL;
            }
            size_t n = (size_t)(close - (tmpl + i)) + 1;
            if (n == 8 && memcmp(tmpl + i, "{app_id}", 8) == 0)
                val = v->app_id;
            else if (n == 12 && memcmp(tmpl + i, "{channel_id}", 12) == 0)
                val = v->channel_id;
            else if (n == 11 && memcmp(tmpl + i, "{date_time}", 11) == 0)
                val = date;
            else if (n == 17 && memcmp(tmpl + i, "{file_start_time}", 17) == 0)
                val = datetime;
            else {
                *w = "has an unknown {variable} (known: {app_id} {date_time} {channel_id} {file_start_time})";
                return IRTC_EINVAL;
            }
            if (!var_value_ok(val)) {
                *w = "expands a variable whose value is not a plain name";
                return IRTC_EINVAL;
            }
            vlen = strlen(val);
            adv = n;
        } else {
            val = tmpl + i;
            vlen = 1;
        }
        if (o + vlen >= cap) {
            *w = "is too long";
            return IRTC_EINVAL;
        }
        memcpy(out + o, val, vlen);
        o += vlen;
        i += adv;
    }
    out[o] = '\0';
    return IRTC_OK;
}

static bool has_bad_char(const char *s, const char **w)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\\') {
            *w = "contains a backslash";
            return true;
        }
        if (*p < 0x20 || *p == 0x7f) {
            *w = "contains a control character";
            return true;
        }
    }
    return false;
}

int rec_path_dir(const char *record_path, size_t len, const rec_path_vars_t *v, char *out, size_t cap, const char **why)
{
    static const char *ignored;
    const char **w = why ? why : &ignored;
    char exp[REC_PATH_MAX + 1];
    int rc = rec_path_expand(record_path ? record_path : "", record_path ? len : 0, v, exp, sizeof(exp), w);
    if (rc != IRTC_OK)
        return rc;
    if (has_bad_char(exp, w))
        return IRTC_EINVAL;
    size_t o = 0;
    out[0] = '\0';
    for (char *p = exp; *p;) {
        char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            *w = "has a \"..\" component";
            return IRTC_EINVAL;
        }
        if (n > 255) {
            *w = "has a component over 255 bytes";
            return IRTC_EINVAL;
        }
        if (n > 0 && !(n == 1 && p[0] == '.')) {
            if (o + n + 2 > cap) {
                *w = "is too long";
                return IRTC_EINVAL;
            }
            if (o > 0)
                out[o++] = '/';
            memcpy(out + o, p, n);
            o += n;
            out[o] = '\0';
        }
        p += n;
        if (*p == '/')
            p++;
    }
    return IRTC_OK;
}

int rec_path_name(const char *file_name, size_t len, const char *default_tmpl, const rec_path_vars_t *v, char *out,
                  size_t cap, const char **why)
{
    static const char *ignored;
    const char **w = why ? why : &ignored;
    char exp[REC_PATH_MAX + 1];
    if (file_name == NULL || len == 0) {
        file_name = default_tmpl;
        len = strlen(default_tmpl);
    }
    int rc = rec_path_expand(file_name, len, v, exp, sizeof(exp), w);
    if (rc != IRTC_OK)
        return rc;
    if (has_bad_char(exp, w))
        return IRTC_EINVAL;
    if (strchr(exp, '/') != NULL) {
        *w = "contains '/' (directories belong in recordPath)";
        return IRTC_EINVAL;
    }
    if (exp[0] == '.' || exp[0] == '\0') {
        *w = exp[0] ? "starts with '.'" : "is empty";
        return IRTC_EINVAL;
    }
    if (strlen(exp) > REC_NAME_MAX || strlen(exp) >= cap) {
        *w = "is too long";
        return IRTC_EINVAL;
    }
    strcpy(out, exp);
    return IRTC_OK;
}

int rec_path_join(char *out, size_t cap, const char *base, const char *rel, const char *name)
{
    /* The result as spans first (parts and separators), so its length is
     * known before a byte is copied and the copy never passes cap. */
    const char *parts[3] = {base, rel, name};
    struct {
        const char *p;
        size_t n;
    } span[5];
    size_t ns = 0, total = 0;
    char last = '\0';
    if (cap == 0)
        return IRTC_EINVAL;
    for (int i = 0; i < 3; i++) {
        const char *p = parts[i];
        if (p == NULL || *p == '\0')
            continue;
        if (total > 0) {
            while (*p == '/')
                p++;
            if (last != '/') {
                span[ns].p = "/", span[ns++].n = 1;
                total++, last = '/';
            }
        }
        size_t n = strlen(p);
        if (n > 0) {
            span[ns].p = p, span[ns++].n = n;
            total += n, last = p[n - 1];
        }
    }
    if (total > 1 && last == '/')
        span[ns - 1].n--, total--;
    size_t o = 0;
    for (size_t i = 0; i < ns && o < cap - 1; i++) {
        size_t k = IRTC_MIN(span[i].n, cap - 1 - o);
        memcpy(out + o, span[i].p, k);
        o += k;
    }
    out[o] = '\0';
    return total < cap ? IRTC_OK : IRTC_EINVAL;
}

int rec_path_open_dir(const char *base, const char *rel, int *dirfd, char *why, size_t whycap)
{
    int fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, whycap, "storage base %s unusable: %s%s", base, strerror(errno),
                 errno == ENOENT ? " (share not mounted?)" : "");
        return IRTC_EIO;
    }
    char comp[256];
    for (const char *p = rel; *p;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0 || n >= sizeof(comp)) { /* rec_path_dir never produces these */
            close(fd);
            snprintf(why, whycap, "bad directory component in %s", rel);
            return IRTC_EIO;
        }
        memcpy(comp, p, n);
        comp[n] = '\0';
        if (mkdirat(fd, comp, 0750) != 0 && errno != EEXIST) {
            snprintf(why, whycap, "cannot create directory %s under %s: %s", comp, base, strerror(errno));
            close(fd);
            return IRTC_EIO;
        }
        int next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0) {
            snprintf(why, whycap, "cannot open directory %s under %s: %s", comp, base,
                     errno == ELOOP || errno == ENOTDIR ? "not a directory (symlinks are refused)" : strerror(errno));
            close(fd);
            return IRTC_EIO;
        }
        close(fd);
        fd = next;
        p += n;
        if (*p == '/')
            p++;
    }
    *dirfd = fd;
    return IRTC_OK;
}

static bool exists_at(int dirfd, const char *name)
{
    struct stat sb;
    return fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT;
}

static void candidate(char *out, size_t cap, const char *name, int i, const char *suffix)
{
    if (i == 0)
        snprintf(out, cap, "%s%s", name, suffix);
    else
        snprintf(out, cap, "%s-%d%s", name, i, suffix);
}

int rec_path_create(int dirfd, const char *name, const char *suffix, char *final_name, char *part_name, size_t cap,
                    int *fd, char *why, size_t whycap)
{
    for (int i = 0; i < 1000; i++) {
        candidate(final_name, cap, name, i, suffix);
        snprintf(part_name, cap, ".%s.part", final_name);
        if (exists_at(dirfd, final_name))
            continue;
        int f = openat(dirfd, part_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
        if (f >= 0) {
            *fd = f;
            return IRTC_OK;
        }
        if (errno != EEXIST) {
            snprintf(why, whycap, "cannot create %s: %s", part_name, strerror(errno));
            return IRTC_EIO;
        }
    }
    snprintf(why, whycap, "no free file name for %s%s (tried -1 to -999)", name, suffix);
    return IRTC_EIO;
}

int rec_path_commit(int dirfd, const char *part_name, const char *name, const char *suffix, char *final_name,
                    size_t cap, char *why, size_t whycap)
{
    char pending[REC_NAME_MAX + 64];
    for (int i = 0; i < 1000; i++) {
        if (i > 0) {
            candidate(final_name, cap, name, i, suffix);
            snprintf(pending, sizeof(pending), ".%s.part", final_name);
            if (strcmp(pending, part_name) != 0 && exists_at(dirfd, pending))
                continue; /* reserved by a recording still running */
        }
        if (linkat(dirfd, part_name, dirfd, final_name, 0) == 0) {
            unlinkat(dirfd, part_name, 0);
            return IRTC_OK;
        }
        if (errno == EEXIST)
            continue;
        if (errno != EPERM && errno != ENOTSUP && errno != EOPNOTSUPP && errno != ENOSYS && errno != EMLINK)
            break;
        /* no hard links (SMB without unix extensions): check, then rename */
        if (exists_at(dirfd, final_name))
            continue;
        if (renameat(dirfd, part_name, dirfd, final_name) == 0)
            return IRTC_OK;
        break;
    }
    snprintf(why, whycap, "cannot rename %s to %s: %s", part_name, final_name, strerror(errno));
    return IRTC_EIO;
}
