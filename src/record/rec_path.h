/*
 * rec_path.h — where a recording or snapshot goes: expanding the contract's
 * templates ({app_id}, {date_time}, {channel_id}, {file_start_time}) in
 * recordPath and fileName, refusing anything that could leave the base
 * directory, creating directories, and the never-overwrite file protocol
 * (write ".name.mp4.part", then link it to a free "name[-N].mp4").
 *
 * Threads: rec_path_dir / rec_path_name are pure and run on the control
 * thread (a bad template is a 1001001 answer, not a failed recording); the
 * filesystem functions touch the NAS and run on recorder threads only, so a
 * hung mount stalls a recorder, never the control loop.
 *
 * Directories are walked with openat(O_NOFOLLOW) from the base, so a symlink
 * planted inside the share cannot redirect a recording elsewhere.  The base
 * itself is never created: a missing base is an unmounted share, and writing
 * into the empty mount point would fill the local disk.
 *
 * Does not: choose the base (the caller passes nas_base_path or the ISDP
 * directory) or write media.
 */
#ifndef IRTC_REC_PATH_H
#define IRTC_REC_PATH_H

#include <stddef.h>
#include <stdint.h>

#define REC_PATH_MAX 1024 /* relative directory, bytes */
#define REC_NAME_MAX 200  /* file name before suffix and clash number */
#define REC_BASE_MAX 1024 /* a base directory, with its NUL (rec_job_cfg_t.base) */
/* What rec_path_join needs for a base, a directory and a name with its
 * clash number and suffix, so it never truncates. */
#define REC_FULL_PATH_MAX (REC_BASE_MAX + REC_PATH_MAX + REC_NAME_MAX + 32)

typedef struct {
    const char *app_id;
    const char *channel_id;
    uint64_t start_wall_ms; /* {date_time} YYYYMMDD and {file_start_time} YYYYMMDDHHMMSS, local time */
} rec_path_vars_t;

/* Expands tmpl (len bytes; NUL inside is an error) into out.  Variables are
 * case-sensitive; an unknown or unterminated one, or a variable value with
 * '/' '\\' or "..", is IRTC_EINVAL with a static *why. */
int rec_path_expand(const char *tmpl, size_t len, const rec_path_vars_t *v, char *out, size_t cap, const char **why);

/* recordPath → a normalised relative directory ("" = the base itself):
 * leading '/' and empty or "." components dropped; "..", backslashes,
 * control characters, NUL and components over 255 bytes are IRTC_EINVAL. */
int rec_path_dir(const char *record_path, size_t len, const rec_path_vars_t *v, char *out, size_t cap,
                 const char **why);

/* fileName → a bare name without suffix; empty uses default_tmpl.  A '/',
 * backslash, control character, NUL, a leading '.' or over REC_NAME_MAX bytes
 * is IRTC_EINVAL. */
int rec_path_name(const char *file_name, size_t len, const char *default_tmpl, const rec_path_vars_t *v, char *out,
                  size_t cap, const char **why);

/* Opens base (which must exist) and creates rel below it, mode 0750, one
 * component at a time without following symlinks.  Returns IRTC_OK and a
 * directory fd, or IRTC_EIO with a reason naming the path and errno. */
int rec_path_open_dir(const char *base, const char *rel, int *dirfd, char *why, size_t whycap);

/* Picks the first free name among name, name-1 … name-999 (a name is taken
 * when name+suffix or its .part exists) and creates ".<final>.part" with
 * O_EXCL, mode 0640.  final_name gets "<name>[-N]<suffix>", part_name the
 * temporary name.  IRTC_EIO with a reason on failure. */
int rec_path_create(int dirfd, const char *name, const char *suffix, char *final_name, char *part_name, size_t cap,
                    int *fd, char *why, size_t whycap);

/* Gives the finished .part its final name without replacing anything: if
 * final_name (from rec_path_create) appeared meanwhile, the next free
 * name-N+suffix is taken and written to final_name.  IRTC_EIO with a reason. */
int rec_path_commit(int dirfd, const char *part_name, const char *name, const char *suffix, char *final_name,
                    size_t cap, char *why, size_t whycap);

/* base + "/" + rel + "/" + name, without doubled separators, always
 * NUL-terminated within cap.  IRTC_EINVAL when it had to be cut short
 * (a buffer of REC_FULL_PATH_MAX never is). */
int rec_path_join(char *out, size_t cap, const char *base, const char *rel, const char *name);

#endif
