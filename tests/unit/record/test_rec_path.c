/*
 * test_rec_path.c — record/rec_path: template variables, every way out of
 * the base directory (.., backslashes, NUL, control characters, variables
 * carrying separators), directory creation without following symlinks, a
 * missing base, the never-overwrite suffixes and the .part protocol.
 */
#include "record/rec_path.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/common.h"
#include "unit/tap.h"

static rec_path_vars_t vars = {.app_id = "8239839232", .channel_id = "room-1"};

static int dir_of(const char *t, char *out, const char **why)
{
    return rec_path_dir(t, strlen(t), &vars, out, REC_PATH_MAX + 1, why);
}

static void test_templates(void)
{
    char out[REC_PATH_MAX + 1], want[256], date[16], dt[24];
    const char *why = NULL;
    clock_format_date(vars.start_wall_ms, date, sizeof(date));
    clock_format_datetime(vars.start_wall_ms, dt, sizeof(dt));

    is_int(dir_of("/saas/application/{app_id}/{date_time}", out, &why), IRTC_OK, "contract example expands");
    snprintf(want, sizeof(want), "saas/application/8239839232/%s", date);
    is_str(out, want, "leading '/' is relative to the base");
    is_int(dir_of("{channel_id}//./x/{file_start_time}/", out, &why), IRTC_OK, "empty and '.' components");
    snprintf(want, sizeof(want), "room-1/x/%s", dt);
    is_str(out, want, "normalised");
    is_int(strlen(dt), 14, "file_start_time is YYYYMMDDHHMMSS");
    is_int(strlen(date), 8, "date_time is YYYYMMDD");
    is_int(dir_of("", out, &why), IRTC_OK, "empty recordPath");
    is_str(out, "", "is the base itself");
    is_int(rec_path_dir(NULL, 0, &vars, out, sizeof(out), &why), IRTC_OK, "NULL recordPath is the base");

    is_int(dir_of("a/../../etc", out, &why), IRTC_EINVAL, "'..' refused");
    ok(why && strstr(why, ".."), "reason names '..' (%s)", why);
    is_int(dir_of("..", out, &why), IRTC_EINVAL, "bare '..' refused");
    is_int(dir_of("/a/..", out, &why), IRTC_EINVAL, "trailing '..' refused");
    is_int(dir_of("a/..b/c", out, &why), IRTC_OK, "'..b' is just a name");
    is_int(dir_of("a\\..\\b", out, &why), IRTC_EINVAL, "backslash refused");
    is_int(dir_of("a\nb", out, &why), IRTC_EINVAL, "control character refused");
    is_int(rec_path_dir("a\0/../x", 7, &vars, out, sizeof(out), &why), IRTC_EINVAL, "embedded NUL refused");
    is_int(dir_of("{APP_ID}", out, &why), IRTC_EINVAL, "variables are case-sensitive");
    is_int(dir_of("{user_id}", out, &why), IRTC_EINVAL, "unknown variable refused");
    is_int(dir_of("a/{app_id", out, &why), IRTC_EINVAL, "unterminated variable refused");
    char longc[300];
    memset(longc, 'x', 299);
    longc[299] = '\0';
    is_int(dir_of(longc, out, &why), IRTC_EINVAL, "component over 255 bytes refused");

    rec_path_vars_t evil = {.app_id = "../../etc", .channel_id = "c"};
    is_int(rec_path_dir("{app_id}", 8, &evil, out, sizeof(out), &why), IRTC_EINVAL, "variable with '..' refused");
    rec_path_vars_t slash = {.app_id = "a/b", .channel_id = "c"};
    is_int(rec_path_dir("x/{app_id}", 10, &slash, out, sizeof(out), &why), IRTC_EINVAL,
           "variable with '/' refused (no absolute components after expansion)");
    char small[8];
    is_int(rec_path_expand("{app_id}", 8, &vars, small, sizeof(small), &why), IRTC_EINVAL, "too long for the buffer");

    const char *t = "AICC_{date_time}_{channel_id}";
    is_int(rec_path_name(t, strlen(t), "d", &vars, out, sizeof(out), &why), IRTC_OK, "fileName example");
    snprintf(want, sizeof(want), "AICC_%s_room-1", date);
    is_str(out, want, "fileName expanded");
    is_int(rec_path_name("", 0, "{channel_id}_{file_start_time}", &vars, out, sizeof(out), &why), IRTC_OK,
           "empty fileName uses the default");
    snprintf(want, sizeof(want), "room-1_%s", dt);
    is_str(out, want, "default name");
    is_int(rec_path_name("a/b", 3, "d", &vars, out, sizeof(out), &why), IRTC_EINVAL, "'/' in fileName refused");
    is_int(rec_path_name("..", 2, "d", &vars, out, sizeof(out), &why), IRTC_EINVAL, "'..' as fileName refused");
    is_int(rec_path_name(".hidden", 7, "d", &vars, out, sizeof(out), &why), IRTC_EINVAL, "leading dot refused");
    is_int(rec_path_name("a\\b", 3, "d", &vars, out, sizeof(out), &why), IRTC_EINVAL, "backslash in fileName");
    is_int(rec_path_name("a\0b", 3, "d", &vars, out, sizeof(out), &why), IRTC_EINVAL, "NUL in fileName");
    is_int(rec_path_name(longc, 250, "d", &vars, out, sizeof(out), &why), IRTC_EINVAL, "fileName too long");

    rec_path_join(out, sizeof(out), "/nas/", "a/b", "x.mp4");
    is_str(out, "/nas/a/b/x.mp4", "join");
    rec_path_join(out, sizeof(out), "/nas", "", "x.mp4");
    is_str(out, "/nas/x.mp4", "join without rel");
    is_int(rec_path_join(out, sizeof(out), "/", "/a/", "x"), IRTC_OK, "join from the root");
    is_str(out, "/a/x", "no doubled separator after the root");

    /* A base longer than the buffer (a long recording.nas_base_path): cut
     * short and said so, never read or written past cap (found by
     * fuzz_rec_path; the sanitizer build checks the reads). */
    static char longbase[3000], big[REC_FULL_PATH_MAX];
    memset(longbase, 'b', sizeof(longbase) - 1);
    longbase[0] = '/';
    char *heap = malloc(64);
    is_int(rec_path_join(heap, 64, longbase, "a/b", "x.mp4"), IRTC_EINVAL, "join past cap: refused");
    ok(strlen(heap) == 63 && heap[0] == '/', "join past cap: NUL-terminated within cap");
    is_int(rec_path_join(heap, 64, "/nas/", "", ""), IRTC_OK, "base alone");
    is_str(heap, "/nas", "base alone: trailing slash dropped");
    is_int(rec_path_join(heap, 5, "/nas/", "", ""), IRTC_OK, "a trailing slash that is dropped needs no room");
    is_int(rec_path_join(heap, 4, "/nas/", "", ""), IRTC_EINVAL, "one byte too many is reported");
    is_str(heap, "/na", "and the result is the join cut to fit");
    free(heap);
    memset(longbase, 'b', REC_BASE_MAX - 1);
    longbase[0] = '/';
    longbase[REC_BASE_MAX - 1] = '\0';
    char rel[REC_PATH_MAX + 1];
    memset(rel, 'r', REC_PATH_MAX);
    rel[REC_PATH_MAX] = '\0';
    char name[REC_NAME_MAX + 16];
    memset(name, 'n', REC_NAME_MAX);
    snprintf(name + REC_NAME_MAX, 16, "-999.mp4");
    is_int(rec_path_join(big, sizeof(big), longbase, rel, name), IRTC_OK,
           "the longest base, directory and name fit REC_FULL_PATH_MAX");
}

static void touch(int dirfd, const char *name)
{
    int fd = openat(dirfd, name, O_WRONLY | O_CREAT, 0640);
    close(fd);
}

static void test_files(void)
{
    char base[] = "/tmp/test_rec_path.XXXXXX", why[512], final[256], part[256], path[600];
    ok(mkdtemp(base) != NULL, "temp base");
    int dfd, fd;
    struct stat sb;

    snprintf(path, sizeof(path), "%s/missing", base);
    is_int(rec_path_open_dir(path, "a", &dfd, why, sizeof(why)), IRTC_EIO, "missing base refused");
    ok(strstr(why, "not mounted") != NULL, "reason suggests an unmounted share (%s)", why);
    ok(stat(path, &sb) != 0, "the base is not created");

    is_int(rec_path_open_dir(base, "a/b/c", &dfd, why, sizeof(why)), IRTC_OK, "mkdir -p below the base");
    snprintf(path, sizeof(path), "%s/a/b/c", base);
    ok(stat(path, &sb) == 0 && S_ISDIR(sb.st_mode) && (sb.st_mode & 0777) == 0750, "created with mode 0750");

    is_int(rec_path_create(dfd, "rec", ".mp4", final, part, sizeof(part), &fd, why, sizeof(why)), IRTC_OK, "create");
    is_str(final, "rec.mp4", "first name free");
    is_str(part, ".rec.mp4.part", "written as a hidden .part");
    ok(write(fd, "x", 1) == 1, "write");
    close(fd);
    ok(faccessat(dfd, "rec.mp4", F_OK, 0) != 0, "final name absent before commit");
    is_int(rec_path_commit(dfd, part, "rec", ".mp4", final, sizeof(final), why, sizeof(why)), IRTC_OK, "commit");
    ok(faccessat(dfd, "rec.mp4", F_OK, 0) == 0 && faccessat(dfd, ".rec.mp4.part", F_OK, 0) != 0, "renamed, .part gone");

    is_int(rec_path_create(dfd, "rec", ".mp4", final, part, sizeof(part), &fd, why, sizeof(why)), IRTC_OK,
           "create again");
    is_str(final, "rec-1.mp4", "clash: -1");
    close(fd);
    int fd2;
    is_int(rec_path_create(dfd, "rec", ".mp4", final, part, sizeof(part), &fd2, why, sizeof(why)), IRTC_OK,
           "a third while the second is still a .part");
    is_str(final, "rec-2.mp4", "a pending .part holds its name");
    close(fd2);
    touch(dfd, "rec-2.mp4"); /* someone else wrote rec-2.mp4 meanwhile */
    is_int(rec_path_commit(dfd, part, "rec", ".mp4", final, sizeof(final), why, sizeof(why)), IRTC_OK,
           "commit when the name was taken meanwhile");
    ok(strcmp(final, "rec-2.mp4") != 0 && strcmp(final, "rec-1.mp4") != 0, "took another name (%s)", final);
    snprintf(path, sizeof(path), "%s/a/b/c/rec-2.mp4", base);
    ok(stat(path, &sb) == 0 && sb.st_size == 0, "the other file is untouched");
    close(dfd);

    /* a symlink inside the share must not redirect recordings */
    snprintf(path, sizeof(path), "%s/a/link", base);
    ok(symlink("/tmp", path) == 0, "plant a symlink");
    is_int(rec_path_open_dir(base, "a/link/x", &dfd, why, sizeof(why)), IRTC_EIO, "symlink component refused");
    ok(strstr(why, "symlink") != NULL, "reason says so (%s)", why);
    /* a file where a directory should be */
    snprintf(path, sizeof(path), "%s/a/file", base);
    touch(AT_FDCWD, path);
    is_int(rec_path_open_dir(base, "a/file/x", &dfd, why, sizeof(why)), IRTC_EIO, "file in the way refused");

    char cmd[700];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
    ok(system(cmd) == 0, "cleanup");
}

int main(void)
{
    vars.start_wall_ms = (uint64_t)time(NULL) * 1000;
    test_templates();
    test_files();
    return done_testing();
}
