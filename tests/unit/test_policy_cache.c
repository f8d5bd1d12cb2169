/* pc_load / pc_store: a stored program comes back identical, and every
 * file or directory the cache must not trust, every damaged file and every
 * other key is a miss, for the reason the test expects.  The chown cases
 * need root (the suite runs as root); as a user they are skipped. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <seccomp.h>

#include "policy.h"
#include "policy_cache.h"

#define OTHER_UID 65534
#define HEADER 40 /* the file format's fixed header */

static const char policy_text[] = "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": []}\n";

struct fixture {
	char base[64];	       /* mkdtemp'd */
	char dir[PATH_MAX];    /* base/cache/nsrun: the cache, missing until a store */
	char entry[PATH_MAX];  /* dir/NAME of key */
	struct pc_key key;
	struct sock_filter insns[5];
	struct sc_program prog;
};

static void path_join(char *buf, const char *a, const char *b)
{
	assert_true(snprintf(buf, PATH_MAX, "%s/%s", a, b) < PATH_MAX);
}

static void make_key(struct pc_key *key, const char *nsrun, uint32_t arch, const char *policy,
		     size_t len)
{
	struct pc_ids ids = {nsrun, "2.5.4 build bbbb", "6.1.0-18-amd64 #1 SMP x86_64", arch};
	struct nsrun_error err = {0};

	assert_int_equal(pc_key_init(key, &ids, policy, len, &err), 0);
}

static void entry_of(const struct fixture *f, const struct pc_key *key, char *buf)
{
	char name[PC_NAME_SIZE];

	pc_file_name(key, name);
	path_join(buf, f->dir, name);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->base, sizeof(f->base), "/tmp/nsrun-pc-test-XXXXXX");
	assert_non_null(mkdtemp(f->base));
	assert_true(snprintf(f->dir, sizeof(f->dir), "%s/cache/nsrun", f->base) < PATH_MAX);
	make_key(&f->key, "0.1.0 build aaaa", 0xc000003e, policy_text, strlen(policy_text));
	entry_of(f, &f->key, f->entry);
	for (unsigned i = 0; i < 5; i++)
		f->insns[i] = (struct sock_filter){(uint16_t)(0x06 + i), (uint8_t)i, (uint8_t)(2 * i),
						   0x7fff0000U + i};
	f->prog = (struct sc_program){f->insns, 5};
	*state = f;
	return 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	nftw(f->base, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void assert_contains(const char *msg, const char *part)
{
	if (!strstr(msg, part))
		fail_msg("message \"%s\" does not contain \"%s\"", msg, part);
}

static void store(struct fixture *f)
{
	struct nsrun_error err = {0};

	if (pc_store(f->dir, &f->key, &f->prog, &err) != 0)
		fail_msg("pc_store: %s", err.msg);
}

/* A miss with code and a message containing reason; no program handed out. */
static void expect_miss(const struct fixture *f, const struct pc_key *key, int code,
			const char *reason)
{
	struct sc_program got = {(struct sock_filter *)1, 1};
	struct nsrun_error err = {0};

	assert_int_equal(pc_load(f->dir, key, &got, &err), -code);
	assert_null(got.filter);
	assert_int_equal(got.len, 0);
	assert_contains(err.msg, reason);
}

static void expect_hit(const struct fixture *f, const struct pc_key *key,
		       const struct sc_program *want)
{
	struct sc_program got = {0};
	struct nsrun_error err = {0};

	if (pc_load(f->dir, key, &got, &err) != 0)
		fail_msg("pc_load: %s", err.msg);
	assert_int_equal(got.len, want->len);
	assert_memory_equal(got.filter, want->filter, want->len * sizeof(*want->filter));
	sc_program_free(&got);
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	return st.st_mode & 07777;
}

static mode_t type_of(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	return st.st_mode;
}

static off_t size_of(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	return st.st_size;
}

static char *dirname_of(const char *path, char *buf)
{
	assert_true(snprintf(buf, PATH_MAX, "%s", path) < PATH_MAX);
	*strrchr(buf, '/') = '\0';
	return buf;
}

static void skip_unless_root(void)
{
	if (geteuid() != 0)
		skip();
}

static void test_store_then_load_gives_the_same_program(void **state)
{
	struct fixture *f = *state;
	char parent[PATH_MAX];

	expect_miss(f, &f->key, ENOENT, "No such file or directory");
	store(f);
	expect_hit(f, &f->key, &f->prog);
	path_join(parent, f->base, "cache");
	assert_int_equal(mode_of(parent), 0700); /* ~/.cache made too */
	assert_int_equal(mode_of(f->dir), 0700);
	assert_int_equal(mode_of(f->entry), 0600);
	/* the whole key and the program, nothing else */
	assert_int_equal(size_of(f->entry), HEADER + f->key.ids_len + f->key.policy_len +
						    sizeof(f->insns));
}

/* The real thing: the shipped policy, compiled, through the native key. */
static void test_a_compiled_policy_round_trips_with_the_native_key(void **state)
{
	struct fixture *f = *state;
	const struct scmp_version *v = seccomp_version();
	struct nsrun_policy pol;
	struct nsrun_error err = {0};
	struct utsname u;
	char *text, version[64];
	size_t len;

	assert_int_equal(pol_read_file(NSRUN_POLICY_DIR "/seccomp.json", &text, &len, &err), 0);
	assert_int_equal(pol_load_buffer(text, len, "seccomp.json", &pol, &err), 0);
	assert_int_equal(sc_compile(&pol, &f->prog, &err), 0);
	if (pc_key_native(&f->key, text, len, &err) != 0)
		fail_msg("pc_key_native: %s", err.msg);
	assert_int_equal(uname(&u), 0);
	snprintf(version, sizeof(version), "libseccomp %u.%u.%u build ", v->major, v->minor,
		 v->micro);
	assert_contains(f->key.ids, "nsrun " NSRUN_VERSION " build ");
	assert_contains(f->key.ids, version);
	assert_contains(f->key.ids, u.release);
	store(f);
	expect_hit(f, &f->key, &f->prog);
	sc_program_free(&f->prog);
	pol_free(&pol);
	free(text);
}

/* Another key has another name; and where a file of another key sits
 * under this key's name (a hash collision), the stored key refuses it. */
static void expect_other_key_misses(struct fixture *f, const struct pc_key *other)
{
	char path[PATH_MAX];

	entry_of(f, other, path);
	assert_string_not_equal(path, f->entry);
	expect_miss(f, other, ENOENT, "No such file or directory");
	assert_int_equal(link(f->entry, path), 0);
	if (other->ids_len + other->policy_len == f->key.ids_len + f->key.policy_len)
		expect_miss(f, other, ESTALE, "made for another policy or build");
	else
		expect_miss(f, other, EINVAL, "do not fit this key");
	assert_int_equal(unlink(path), 0);
}

static void test_one_changed_policy_byte_misses(void **state)
{
	struct fixture *f = *state;
	size_t len = strlen(policy_text);
	size_t where[] = {0, len / 2, len - 1};
	char changed[sizeof(policy_text)];
	struct pc_key other;

	store(f);
	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		memcpy(changed, policy_text, sizeof(changed));
		changed[where[i]] ^= 1;
		make_key(&other, "0.1.0 build aaaa", 0xc000003e, changed, len);
		expect_other_key_misses(f, &other);
	}
	make_key(&other, "0.1.0 build aaaa", 0xc000003e, policy_text, len - 1); /* shorter */
	expect_other_key_misses(f, &other);
	expect_hit(f, &f->key, &f->prog);
}

static void test_other_builds_kernels_and_arches_miss(void **state)
{
	struct fixture *f = *state;
	struct pc_ids ids[] = {
		{"0.1.1 build aaaa", "2.5.4 build bbbb", "6.1.0-18-amd64 #1 SMP x86_64", 0xc000003e},
		{"0.1.0 build aaab", "2.5.4 build bbbb", "6.1.0-18-amd64 #1 SMP x86_64", 0xc000003e},
		{"0.1.0 build aaaa", "2.5.4 build bbbc", "6.1.0-18-amd64 #1 SMP x86_64", 0xc000003e},
		{"0.1.0 build aaaa", "2.5.5 build bbbb", "6.1.0-18-amd64 #1 SMP x86_64", 0xc000003e},
		{"0.1.0 build aaaa", "2.5.4 build bbbb", "6.1.0-19-amd64 #1 SMP x86_64", 0xc000003e},
		{"0.1.0 build aaaa", "2.5.4 build bbbb", "6.1.0-18-amd64 #2 SMP x86_64", 0xc000003e},
		{"0.1.0 build aaaa", "2.5.4 build bbbb", "6.1.0-18-amd64 #1 SMP x86_64", 0x40000003},
	};
	struct nsrun_error err = {0};
	struct pc_key other;

	store(f);
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		assert_int_equal(pc_key_init(&other, &ids[i], policy_text, strlen(policy_text), &err),
				 0);
		expect_other_key_misses(f, &other);
	}
	expect_hit(f, &f->key, &f->prog);
}

static void truncate_to(const char *path, off_t size)
{
	assert_int_equal(truncate(path, size), 0);
}

static void test_a_truncated_file_misses(void **state)
{
	struct fixture *f = *state;
	off_t full, sizes[5];

	store(f);
	full = size_of(f->entry);
	sizes[0] = full - 1;
	sizes[1] = full - (off_t)sizeof(struct sock_filter); /* still whole instructions */
	sizes[2] = full - (off_t)sizeof(f->insns);	      /* no program at all */
	sizes[3] = HEADER;					      /* the header alone */
	sizes[4] = 0;
	for (size_t i = 0; i < 5; i++) {
		truncate_to(f->entry, sizes[i]);
		expect_miss(f, &f->key, EINVAL, i == 1 ? "not a cache file" : "do not fit this key");
	}
}

static void flip_byte(const char *path, off_t at)
{
	unsigned char c;
	int fd = open(path, O_RDWR);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, at), 1);
	c ^= 0x20;
	assert_int_equal(pwrite(fd, &c, 1, at), 1);
	close(fd);
}

static void test_a_damaged_file_misses(void **state)
{
	struct fixture *f = *state;
	off_t program = HEADER + (off_t)(f->key.ids_len + f->key.policy_len);

	store(f);
	for (off_t at = program; at < size_of(f->entry); at += 5) {
		flip_byte(f->entry, at);
		expect_miss(f, &f->key, EINVAL, "does not match its checksum");
		flip_byte(f->entry, at);
		expect_hit(f, &f->key, &f->prog);
	}
	flip_byte(f->entry, 0); /* the magic */
	expect_miss(f, &f->key, EINVAL, "not a cache file of this format");
	flip_byte(f->entry, 0);
	flip_byte(f->entry, HEADER + 3); /* the stored ids */
	expect_miss(f, &f->key, ESTALE, "made for another policy or build");
	flip_byte(f->entry, HEADER + 3);
	flip_byte(f->entry, program - 2); /* the stored policy */
	expect_miss(f, &f->key, ESTALE, "made for another policy or build");
}

static void test_a_file_others_may_write_misses(void **state)
{
	struct fixture *f = *state;
	mode_t modes[] = {0666, 0620, 0602};

	store(f);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		assert_int_equal(chmod(f->entry, modes[i]), 0);
		expect_miss(f, &f->key, EPERM, "writable by group or others");
	}
	assert_int_equal(chmod(f->entry, 0644), 0); /* readable by others is fine */
	expect_hit(f, &f->key, &f->prog);
}

static void test_a_directory_others_may_write_misses(void **state)
{
	struct fixture *f = *state;
	mode_t modes[] = {0777, 0770, 0703, 01777};

	store(f);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		assert_int_equal(chmod(f->dir, modes[i]), 0);
		expect_miss(f, &f->key, EPERM, "writable by group or others");
	}
	assert_int_equal(chmod(f->dir, 0755), 0);
	expect_hit(f, &f->key, &f->prog);
}

static void test_a_file_or_directory_of_another_uid_misses(void **state)
{
	struct fixture *f = *state;

	skip_unless_root();
	store(f);
	assert_int_equal(chown(f->entry, OTHER_UID, OTHER_UID), 0);
	expect_miss(f, &f->key, EPERM, "owned by uid 65534");
	assert_int_equal(chown(f->entry, 0, 0), 0);
	expect_hit(f, &f->key, &f->prog);
	assert_int_equal(chown(f->dir, OTHER_UID, OTHER_UID), 0);
	expect_miss(f, &f->key, EPERM, "owned by uid 65534");
}

static void test_symbolic_links_miss(void **state)
{
	struct fixture *f = *state;
	char moved[PATH_MAX], real_dir[PATH_MAX];

	store(f);
	path_join(moved, f->base, "elsewhere.bpf");
	assert_int_equal(rename(f->entry, moved), 0);
	assert_int_equal(symlink(moved, f->entry), 0);
	expect_miss(f, &f->key, EINVAL, "not a regular file"); /* not even followed */
	assert_int_equal(unlink(f->entry), 0);
	assert_int_equal(rename(moved, f->entry), 0);
	expect_hit(f, &f->key, &f->prog);

	path_join(real_dir, f->base, "real");
	assert_int_equal(rename(f->dir, real_dir), 0);
	assert_int_equal(symlink(real_dir, f->dir), 0);
	expect_miss(f, &f->key, ENOTDIR, "Not a directory"); /* O_DIRECTORY | O_NOFOLLOW */
}

static void test_a_fifo_is_a_miss_without_blocking(void **state)
{
	struct fixture *f = *state;

	store(f);
	assert_int_equal(unlink(f->entry), 0);
	assert_int_equal(mkfifo(f->entry, 0600), 0);
	expect_miss(f, &f->key, EINVAL, "not a regular file");
}

/* What is not a regular file is not even opened: opening a device node (or
 * a FIFO) can have effects.  inotify sees every open of the inode. */
static void test_what_is_not_a_file_is_never_opened(void **state)
{
	struct fixture *f = *state;
	struct inotify_event ev;
	int in;

	store(f);
	assert_int_equal(unlink(f->entry), 0);
	assert_int_equal(mkfifo(f->entry, 0600), 0);
	in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	assert_true(in >= 0);
	assert_true(inotify_add_watch(in, f->entry, IN_OPEN) >= 0);
	expect_miss(f, &f->key, EINVAL, "not a regular file");
	assert_int_equal(read(in, &ev, sizeof(ev)), -1);
	assert_int_equal(errno, EAGAIN);
	close(in);
}

static void expect_store_refused(struct fixture *f, int code, const char *reason)
{
	struct nsrun_error err = {0};

	assert_int_equal(pc_store(f->dir, &f->key, &f->prog, &err), -code);
	assert_contains(err.msg, reason);
}

/* What sits under the name and is not a file of ours stays as it is. */
static void test_a_store_replaces_only_its_own_files(void **state)
{
	struct fixture *f = *state;
	char target[PATH_MAX];

	store(f);
	path_join(target, f->base, "target");
	assert_int_equal(rename(f->entry, target), 0);
	assert_int_equal(symlink(target, f->entry), 0);
	expect_store_refused(f, EEXIST, "left as it is");
	assert_true(S_ISLNK(type_of(f->entry))); /* still the link */
	assert_int_equal(unlink(f->entry), 0);

	assert_int_equal(mkdir(f->entry, 0700), 0);
	expect_store_refused(f, EEXIST, "left as it is");
	assert_true(S_ISDIR(type_of(f->entry)));
	assert_int_equal(rmdir(f->entry), 0);

	store(f); /* a damaged file of ours is repaired */
	assert_int_equal(chmod(f->entry, 0666), 0);
	truncate_to(f->entry, 10);
	store(f);
	assert_int_equal(mode_of(f->entry), 0600);
	expect_hit(f, &f->key, &f->prog);
}

static void test_a_store_leaves_other_uids_files_alone(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	skip_unless_root();
	store(f);
	assert_int_equal(chown(f->entry, OTHER_UID, OTHER_UID), 0);
	expect_store_refused(f, EEXIST, "left as it is");
	assert_int_equal(stat(f->entry, &st), 0);
	assert_int_equal(st.st_uid, OTHER_UID);
}

static void test_a_store_into_an_untrusted_directory_writes_nothing(void **state)
{
	struct fixture *f = *state;
	char parent[PATH_MAX];

	assert_int_equal(mkdir(dirname_of(f->dir, parent), 0700), 0);
	assert_int_equal(mkdir(f->dir, 0700), 0);
	assert_int_equal(chmod(f->dir, 0777), 0);
	expect_store_refused(f, EPERM, "writable by group or others");
	assert_int_equal(access(f->entry, F_OK), -1);
	assert_int_equal(rmdir(f->dir), 0);
	assert_int_equal(symlink(f->base, f->dir), 0);
	expect_store_refused(f, ENOTDIR, "Not a directory");
}

static void test_the_directory_is_made_only_in_a_directory_of_ours(void **state)
{
	struct fixture *f = *state;
	char parent[PATH_MAX];

	skip_unless_root();
	assert_int_equal(chown(f->base, OTHER_UID, OTHER_UID), 0); /* HOME of another user */
	expect_store_refused(f, EPERM, "is owned by uid 65534");
	assert_int_equal(access(dirname_of(f->dir, parent), F_OK), -1);
	assert_int_equal(chown(f->base, 0, 0), 0);
	assert_int_equal(mkdir(parent, 0700), 0);
	assert_int_equal(chown(parent, OTHER_UID, OTHER_UID), 0);
	expect_store_refused(f, EPERM, "is owned by uid 65534");
	assert_int_equal(access(f->dir, F_OK), -1);
}

static void test_a_load_creates_nothing(void **state)
{
	struct fixture *f = *state;
	char parent[PATH_MAX];

	expect_miss(f, &f->key, ENOENT, "No such file or directory");
	assert_int_equal(access(dirname_of(f->dir, parent), F_OK), -1);
}

/* Every step from / to the directory is root's or ours: otherwise another
 * user could point root's cache (sudo keeps HOME) at a place of its choice. */
static void test_the_way_to_the_directory_is_roots_or_ours(void **state)
{
	struct fixture *f = *state;
	char real[PATH_MAX], via[PATH_MAX];

	skip_unless_root();
	store(f);
	assert_int_equal(chown(f->base, OTHER_UID, OTHER_UID), 0);
	expect_miss(f, &f->key, EPERM, "is owned by uid 65534");
	assert_int_equal(chown(f->base, 0, 0), 0);
	expect_hit(f, &f->key, &f->prog);

	/* base/via -> base/real: a link of ours is followed, another's is not. */
	path_join(real, f->base, "real");
	path_join(via, f->base, "via");
	assert_int_equal(mkdir(real, 0700), 0);
	assert_int_equal(symlink(real, via), 0);
	assert_true(snprintf(f->dir, sizeof(f->dir), "%s/nsrun", via) < PATH_MAX);
	store(f);
	expect_hit(f, &f->key, &f->prog);
	assert_int_equal(lchown(via, OTHER_UID, OTHER_UID), 0);
	expect_miss(f, &f->key, EPERM, "via is owned by uid 65534");
	path_join(f->dir, real, "nsrun");
	entry_of(f, &f->key, f->entry);
	assert_int_equal(unlink(f->entry), 0);
	assert_int_equal(rmdir(f->dir), 0);
	assert_true(snprintf(f->dir, sizeof(f->dir), "%s/nsrun", via) < PATH_MAX);
	expect_store_refused(f, EPERM, "via is owned by uid 65534");
	path_join(f->dir, real, "nsrun");
	assert_int_equal(access(f->dir, F_OK), -1); /* nothing made where it points */
}

/* A directory on the way that others may write is safe only if sticky, as
 * /tmp: then no one else can rename what is ours in it. */
static void test_a_directory_on_the_way_others_may_write_must_be_sticky(void **state)
{
	struct fixture *f = *state;

	store(f);
	assert_int_equal(chmod(f->base, 0777), 0);
	expect_miss(f, &f->key, EPERM, "is writable by others");
	expect_store_refused(f, EPERM, "is writable by others");
	assert_int_equal(chmod(f->base, 01777), 0);
	expect_hit(f, &f->key, &f->prog);
}

static void test_only_an_absolute_path_without_dot_dot_is_a_cache(void **state)
{
	struct fixture *f = *state;

	store(f);
	memmove(f->dir, f->dir + 1, strlen(f->dir)); /* "tmp/...": relative */
	expect_miss(f, &f->key, EINVAL, "not an absolute path");
	assert_true(snprintf(f->dir, sizeof(f->dir), "%s/cache/../cache/nsrun", f->base) < PATH_MAX);
	expect_miss(f, &f->key, EINVAL, "not a directory's path");
	assert_true(snprintf(f->dir, sizeof(f->dir), "%s//cache/./nsrun/", f->base) < PATH_MAX);
	expect_hit(f, &f->key, &f->prog);
}

/* A user whose cache would go in a missing directory inside one of root's
 * is refused for that reason (EPERM), not told the path is missing. */
static void test_a_user_makes_nothing_in_a_directory_of_roots(void **state)
{
	struct fixture *f = *state;
	int status = 0;
	pid_t pid;

	skip_unless_root();
	assert_int_equal(chmod(f->base, 0755), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct nsrun_error err = {0};
		int r;

		if (setresgid(OTHER_UID, OTHER_UID, OTHER_UID) < 0 ||
		    setresuid(OTHER_UID, OTHER_UID, OTHER_UID) < 0)
			_exit(2);
		r = pc_store(f->dir, &f->key, &f->prog, &err); /* base/cache/nsrun */
		_exit(r == -EPERM && strstr(err.msg, "will not make cache") ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(access(f->dir, F_OK), -1);
}

static size_t count_entries(const char *dir, size_t *ret_other)
{
	char cmd[PATH_MAX + 64];
	size_t entries = 0, other = 0;
	char line[256];
	FILE *ls;

	assert_true(snprintf(cmd, sizeof(cmd), "ls -A '%s'", dir) < (int)sizeof(cmd));
	ls = popen(cmd, "r");
	assert_non_null(ls);
	while (fgets(line, sizeof(line), ls)) {
		if (strlen(line) == PC_NAME_SIZE && strstr(line, ".bpf\n"))
			entries++;
		else
			other++;
	}
	pclose(ls);
	if (ret_other)
		*ret_other = other;
	return entries;
}

static void set_mtime(const char *path, time_t when)
{
	struct timespec times[2] = {{when, 0}, {when, 0}};

	assert_int_equal(utimensat(AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW), 0);
}

/* Each store past PC_KEEP entries removes the oldest written, and no temp
 * file is left; a temp file an hour old (a crashed store's) goes too. */
static void test_stores_keep_at_most_PC_KEEP_entries(void **state)
{
	struct fixture *f = *state;
	char texts[PC_KEEP + 4][16], path[PATH_MAX], stale[PATH_MAX], fresh[PATH_MAX];
	struct pc_key keys[PC_KEEP + 4];
	size_t other;
	int fd;

	for (size_t i = 0; i < PC_KEEP + 4; i++) {
		snprintf(texts[i], sizeof(texts[i]), "policy %zu", i);
		make_key(&keys[i], "0.1.0 build aaaa", 0xc000003e, texts[i], strlen(texts[i]));
		f->key = keys[i];
		store(f);
		entry_of(f, &keys[i], path);
		set_mtime(path, 1000000 + (time_t)i); /* written in this order */
		if (i == 0) {
			path_join(stale, f->dir, ".tmp-1-0");
			path_join(fresh, f->dir, ".tmp-2-0");
			fd = open(stale, O_CREAT | O_WRONLY, 0600);
			close(fd);
			fd = open(fresh, O_CREAT | O_WRONLY, 0600);
			close(fd);
			set_mtime(stale, time(NULL) - 7200);
		}
	}
	assert_int_equal(count_entries(f->dir, &other), PC_KEEP);
	assert_int_equal(other, 1);
	assert_int_equal(access(stale, F_OK), -1);
	assert_int_equal(access(fresh, F_OK), 0);
	for (size_t i = 0; i < 4; i++)
		expect_miss(f, &keys[i], ENOENT, "No such file or directory");
	for (size_t i = 4; i < PC_KEEP + 4; i++)
		expect_hit(f, &keys[i], &f->prog);
}

static void test_only_real_programs_are_stored(void **state)
{
	struct fixture *f = *state;
	struct sock_filter *big = calloc(BPF_MAXINSNS + 1, sizeof(*big));

	assert_non_null(big);
	f->prog.len = 0;
	expect_store_refused(f, EINVAL, "nothing to store");
	f->prog = (struct sc_program){big, BPF_MAXINSNS + 1};
	expect_store_refused(f, EINVAL, "nothing to store");
	f->prog.len = BPF_MAXINSNS; /* the largest the kernel takes */
	store(f);
	expect_hit(f, &f->key, &f->prog);
	free(big);
}

/* The bytes compared are the bytes parsed: a NUL in a file does not cut
 * it short for the parser, as a C string would. */
static void test_the_parser_sees_every_byte(void **state)
{
	static const char text[] = "{\"defaultAction\": \"SCMP_ACT_ALLOW\"}\0garbage";
	struct nsrun_policy pol;
	struct nsrun_error err = {0};

	(void)state;
	assert_int_equal(pol_load_buffer(text, strlen(text), "p", &pol, &err), 0);
	pol_free(&pol);
	assert_true(pol_load_buffer(text, sizeof(text) - 1, "p", &pol, &err) < 0);
	pol_free(&pol);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_store_then_load_gives_the_same_program, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_a_compiled_policy_round_trips_with_the_native_key,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_changed_policy_byte_misses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_builds_kernels_and_arches_miss, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_a_truncated_file_misses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_damaged_file_misses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_file_others_may_write_misses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_directory_others_may_write_misses, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_a_file_or_directory_of_another_uid_misses, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_symbolic_links_miss, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_fifo_is_a_miss_without_blocking, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_a_store_replaces_only_its_own_files, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_a_store_leaves_other_uids_files_alone, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_a_store_into_an_untrusted_directory_writes_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_the_directory_is_made_only_in_a_directory_of_ours,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_load_creates_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_the_way_to_the_directory_is_roots_or_ours, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_a_directory_on_the_way_others_may_write_must_be_sticky,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_only_an_absolute_path_without_dot_dot_is_a_cache,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_user_makes_nothing_in_a_directory_of_roots,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_what_is_not_a_file_is_never_opened, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stores_keep_at_most_PC_KEEP_entries, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_only_real_programs_are_stored, setup, teardown),
		cmocka_unit_test(test_the_parser_sees_every_byte),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
