/* The policy cache (see policy_cache.h).
 *
 * File layout, native byte order (the arch is part of the key):
 *   struct pc_header | ids text | policy bytes | program (prog_len insns)
 * The name is a hash of the key, but only to find the file: a hit needs
 * the stored key to equal the caller's byte for byte, so two keys with
 * the same hash only ever cost a miss.
 *
 * Trust, as ssh has it for its keys: every step from / to the directory
 * is root's or the effective uid's, the directory and the file belong to
 * the effective uid and are writable by no one else, the directory is not
 * a symbolic link and the file is opened without following one.  Only the
 * owner (or root) can then have written the file, and nsrun writes only
 * programs that libseccomp compiled from the key's policy. */
#include "policy_cache.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <link.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "util.h"

#define PC_MAGIC "nsrunbpf"
#define PC_FORMAT 1U
#define PC_FNV_BASIS 0xcbf29ce484222325ULL
#define PC_FNV_PRIME 0x100000001b3ULL
#define PC_BUILD_ID_MAX 64     /* bytes; GNU ld makes 20 (sha1) */
#define PC_STALE_TEMP_S 3600   /* a store's temp file this old was left by a crash */

struct pc_header {
	char magic[8];
	uint32_t format;
	uint32_t ids_len;
	uint64_t policy_len;
	uint32_t prog_len; /* instructions */
	uint32_t reserved;
	uint64_t prog_sum; /* FNV-1a 64 of the program: a torn or damaged file is a miss */
};
_Static_assert(sizeof(struct pc_header) == 40, "the file format's header is 40 bytes");

/* link.h's ElfW(), spelled out (cppcheck cannot expand it). */
#if UINTPTR_MAX > 0xffffffffU
typedef Elf64_Phdr pc_phdr;
typedef Elf64_Nhdr pc_nhdr;
#else
typedef Elf32_Phdr pc_phdr;
typedef Elf32_Nhdr pc_nhdr;
#endif

static uint64_t pc_fnv1a(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= PC_FNV_PRIME;
	}
	return h;
}

/* The name's hash, 8 bytes a step: FNV-1a's byte steps would cost more
 * than the rest of a hit on a 30 KiB policy.  Multiply and xor-shift each
 * word, so every input bit reaches every output bit. */
static uint64_t pc_mix(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t w;

	for (; len >= sizeof(w); p += sizeof(w), len -= sizeof(w)) {
		memcpy(&w, p, sizeof(w));
		h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 32;
	}
	w = 0; /* the tail, and its length: "a" and "a\0" differ */
	memcpy(&w, p, len);
	h = (h ^ w ^ ((uint64_t)len << 56)) * 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 29);
}

/* ---- the key ---- */

struct pc_object {
	uintptr_t addr; /* an address inside the object */
	char *hex;	/* out: its build id */
	size_t size;
	int found;
};

static void pc_hex(const unsigned char *bytes, size_t n, char *hex)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		hex[2 * i] = digits[bytes[i] >> 4];
		hex[2 * i + 1] = digits[bytes[i] & 15];
	}
	hex[2 * n] = '\0';
}

static size_t pc_align(size_t n, size_t align)
{
	return (n + align - 1) & ~(align - 1);
}

/* The NT_GNU_BUILD_ID note of a loaded PT_NOTE segment, in hex. */
static int pc_note_build_id(const pc_phdr *ph, uintptr_t base, char *hex, size_t size)
{
	/* The loader gives addresses as integers. */
	const char *p = (const char *)(base + ph->p_vaddr); /* NOLINT(performance-no-int-to-ptr) */
	const char *end = p + ph->p_memsz;
	size_t align = ph->p_align == 8 ? 8 : 4;

	while ((size_t)(end - p) >= sizeof(pc_nhdr)) {
		const pc_nhdr *note = (const pc_nhdr *)(const void *)p;
		size_t desc = pc_align(sizeof(*note) + note->n_namesz, align);
		size_t next = pc_align(desc + note->n_descsz, align);

		if (next > (size_t)(end - p))
			break;
		if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 &&
		    memcmp(p + sizeof(*note), "GNU", 4) == 0 && note->n_descsz > 0 &&
		    note->n_descsz <= PC_BUILD_ID_MAX && 2 * (size_t)note->n_descsz < size) {
			pc_hex((const unsigned char *)p + desc, note->n_descsz, hex);
			return 0;
		}
		p += next;
	}
	return -1;
}

static int pc_object_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	struct pc_object *obj = data;
	int inside = 0;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const pc_phdr *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_LOAD && obj->addr - (info->dlpi_addr + ph->p_vaddr) < ph->p_memsz)
			inside = 1;
	}
	for (int i = 0; inside && !obj->found && i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_NOTE)
			obj->found = pc_note_build_id(&info->dlpi_phdr[i], info->dlpi_addr, obj->hex,
						      obj->size) == 0;
	return inside;
}

/* The build id of the loaded object holding addr.  It changes with every
 * change of the code, where a version string may not: a rebuilt nsrun or
 * a distribution's patched libseccomp of the same version compiles anew.
 * dl_iterate_phdr reads the loader's list in memory: no system call. */
static int pc_build_id(uintptr_t addr, char *hex, size_t size)
{
	struct pc_object obj = {addr, hex, size, 0};

	dl_iterate_phdr(pc_object_cb, &obj);
	return obj.found ? 0 : -1;
}

int pc_key_init(struct pc_key *key, const struct pc_ids *ids, const char *policy, size_t len,
		struct nsrun_error *err)
{
	int n = snprintf(key->ids, sizeof(key->ids),
			 "nsrun policy cache %u\nnsrun %s\nlibseccomp %s\nkernel %s\narch %#" PRIx32
			 "\n", PC_FORMAT, ids->nsrun, ids->seccomp, ids->kernel, ids->arch);

	if (!policy)
		return nsrun_err(err, EINVAL, "policy cache: no policy bytes");
	if (n < 0 || (size_t)n >= sizeof(key->ids))
		return nsrun_err(err, ENAMETOOLONG, "policy cache: the key's identities are too long");
	key->ids_len = (size_t)n;
	key->policy = policy;
	key->policy_len = len;
	return 0;
}

int pc_key_native(struct pc_key *key, const char *policy, size_t len, struct nsrun_error *err)
{
	char own[2 * PC_BUILD_ID_MAX + 1], lib[sizeof(own)];
	char nsrun[sizeof(own) + 64], seccomp[sizeof(own) + 64], kernel[sizeof(struct utsname)];
	const struct scmp_version *v = seccomp_version();
	struct utsname u;
	struct pc_ids ids = {nsrun, seccomp, kernel, seccomp_arch_native()};

	if (pc_build_id((uintptr_t)&pc_key_native, own, sizeof(own)) < 0 ||
	    pc_build_id((uintptr_t)&seccomp_init, lib, sizeof(lib)) < 0)
		return nsrun_err(err, ENOENT, "policy cache: nsrun or libseccomp has no build id");
	if (!v || uname(&u) < 0)
		return nsrun_err(err, ENOENT, "policy cache: no libseccomp or kernel version");
	if (snprintf(nsrun, sizeof(nsrun), "%s build %s", NSRUN_VERSION, own) < 0 ||
	    snprintf(seccomp, sizeof(seccomp), "%u.%u.%u build %s", v->major, v->minor, v->micro,
		     lib) < 0 ||
	    snprintf(kernel, sizeof(kernel), "%s %s %s", u.release, u.version, u.machine) < 0)
		return nsrun_err(err, EINVAL, "policy cache: cannot format the key");
	return pc_key_init(key, &ids, policy, len, err);
}

void pc_file_name(const struct pc_key *key, char name[PC_NAME_SIZE])
{
	uint64_t h = pc_mix(PC_FNV_BASIS, key->ids, key->ids_len);

	h = pc_mix(h, key->policy, key->policy_len);
	snprintf(name, PC_NAME_SIZE, "%016" PRIx64 ".bpf", h);
}

/* ---- trust ---- */

static int pc_trusted(const struct stat *st, const char *dir, const char *name,
		      struct nsrun_error *err)
{
	const char *slash = name[0] ? "/" : "";

	if (st->st_uid != geteuid())
		return nsrun_err(err, EPERM, "policy cache %s%s%s: owned by uid %u, not %u", dir, slash,
				 name, (unsigned)st->st_uid, (unsigned)geteuid());
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return nsrun_err(err, EPERM, "policy cache %s%s%s: writable by group or others "
					     "(mode %03o)", dir, slash, name,
				 (unsigned)(st->st_mode & 07777));
	return 0;
}

/* ---- the way to the directory ---- */

#define PC_DEPTH_MAX 64 /* components of the directory's path */

/* A step on the way to the cache, as ssh checks the way to its keys: root's
 * or ours, and a directory writable by others only if sticky (/tmp: no one
 * else can rename what is ours in it).  A symbolic link of root's or ours
 * points where root or we chose.  Without this, a user could point root's
 * cache anywhere (sudo keeps HOME): ~/.cache -> /etc. */
static int pc_safe_step(const struct stat *st, const char *dir, const char *name,
			struct nsrun_error *err)
{
	if (st->st_uid != 0 && st->st_uid != geteuid())
		return nsrun_err(err, EPERM, "policy cache %s: %s is owned by uid %u", dir, name,
				 (unsigned)st->st_uid);
	if (S_ISDIR(st->st_mode) && (st->st_mode & (S_IWGRP | S_IWOTH)) &&
	    !(st->st_mode & S_ISVTX))
		return nsrun_err(err, EPERM, "policy cache %s: %s is writable by others", dir, name);
	return 0;
}

/* dir's components, in place: "/a//b/." -> {"a", "b"}; ".." is refused. */
static int pc_components(char *path, char *names[], int max)
{
	char *save = NULL;
	int n = 0;

	for (char *t = strtok_r(path, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (strcmp(t, ".") == 0)
			continue;
		if (strcmp(t, "..") == 0 || n == max)
			return -1;
		names[n++] = t;
	}
	return n;
}

/* name in the directory at (an O_PATH fd), as an O_PATH fd: itself, or
 * where it points if it is a safe link. */
static int pc_lookup(int at, const char *name, const char *dir, struct nsrun_error *err)
{
	struct stat st;
	int fd = openat(at, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	int r;

	if (fd < 0)
		return nsrun_err_sys(err, "policy cache %s: %s", dir, name);
	if (fstat(fd, &st) < 0)
		r = nsrun_err_sys(err, "policy cache %s: %s", dir, name);
	else if (!S_ISLNK(st.st_mode))
		return fd;
	else
		r = pc_safe_step(&st, dir, name, err);
	close(fd);
	if (r < 0)
		return r;
	fd = openat(at, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? nsrun_err_sys(err, "policy cache %s: %s", dir, name) : fd;
}

/* mkdir name 0700 in at, only if at is ours: root, whose HOME may still be
 * a user's, must not leave a root-owned cache in it. */
static int pc_mkdir_in(int at, const char *name, const char *dir, struct nsrun_error *err)
{
	struct stat st;

	if (fstat(at, &st) < 0)
		return nsrun_err_sys(err, "policy cache %s", dir);
	if (st.st_uid != geteuid())
		return nsrun_err(err, EPERM, "policy cache %s: will not make %s in a directory of "
					     "uid %u", dir, name, (unsigned)st.st_uid);
	if (mkdirat(at, name, 0700) < 0 && errno != EEXIST) /* EEXIST: a concurrent run */
		return nsrun_err_sys(err, "policy cache %s: %s", dir, name);
	return 0;
}

/* One step down from at (closed): the next directory as an O_PATH fd,
 * made first if missing and may_make. */
static int pc_step(int at, const char *name, const char *dir, int may_make,
		   struct nsrun_error *err)
{
	struct stat st;
	int fd = pc_lookup(at, name, dir, err);
	int r = 0;

	if (fd == -ENOENT && may_make) {
		r = pc_mkdir_in(at, name, dir, err);
		fd = r < 0 ? r : pc_lookup(at, name, dir, err); /* the code err now holds */
	}
	close(at);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		r = nsrun_err_sys(err, "policy cache %s: %s", dir, name);
	else if (!S_ISDIR(st.st_mode))
		r = nsrun_err(err, ENOTDIR, "policy cache %s: %s is not a directory", dir, name);
	else
		r = pc_safe_step(&st, dir, name, err);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

/* The last step: the cache directory itself, not a link, ours alone. */
static int pc_last_step(int at, const char *name, const char *dir, int may_make,
			struct nsrun_error *err)
{
	const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	struct stat st;
	int fd = openat(at, name, flags);
	int r = 0;

	if (fd < 0 && errno == ENOENT && may_make) {
		r = pc_mkdir_in(at, name, dir, err);
		fd = r < 0 ? -1 : openat(at, name, flags);
	}
	if (fd < 0 && r == 0)
		r = nsrun_err_sys(err, "policy cache %s", dir);
	close(at);
	if (fd < 0)
		return r;
	r = fstat(fd, &st) < 0 ? nsrun_err_sys(err, "policy cache %s", dir)
			       : pc_trusted(&st, dir, "", err);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

/* The cache directory, reached from / one safe step at a time, each held
 * by its fd (nothing to swap between a check and its use).  The last
 * `make` components are made when missing (~/.cache and ~/.cache/nsrun). */
static int pc_open_dir(const char *dir, int make, struct nsrun_error *err)
{
	char path[PATH_MAX], *names[PC_DEPTH_MAX];
	size_t len = strlen(dir);
	int n, at;

	if (dir[0] != '/' || len >= sizeof(path))
		return nsrun_err(err, EINVAL, "policy cache %s: not an absolute path", dir);
	memcpy(path, dir, len + 1);
	n = pc_components(path, names, PC_DEPTH_MAX);
	if (n < 1)
		return nsrun_err(err, EINVAL, "policy cache %s: not a directory's path", dir);
	at = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (at < 0)
		return nsrun_err_sys(err, "policy cache %s: /", dir);
	for (int i = 0; i < n - 1 && at >= 0; i++)
		at = pc_step(at, names[i], dir, i >= n - make, err);
	return at < 0 ? at : pc_last_step(at, names[n - 1], dir, make > 0, err);
}

/* A regular file of ours, of a size that fits key: a header, the key and
 * 1..BPF_MAXINSNS instructions. */
static int pc_check_stat(const struct stat *st, const struct pc_key *key, const char *dir,
			 const char *name, size_t *ret_insns, struct nsrun_error *err)
{
	size_t head = sizeof(struct pc_header) + key->ids_len + key->policy_len;
	size_t body = (size_t)st->st_size > head ? (size_t)st->st_size - head : 0;

	if (!S_ISREG(st->st_mode))
		return nsrun_err(err, EINVAL, "policy cache %s/%s: not a regular file", dir, name);
	if (pc_trusted(st, dir, name, err) < 0)
		return -EPERM;
	if (body == 0 || body % sizeof(struct sock_filter) != 0 ||
	    body / sizeof(struct sock_filter) > BPF_MAXINSNS)
		return nsrun_err(err, EINVAL, "policy cache %s/%s: %lld bytes do not fit this key",
				 dir, name, (long long)st->st_size);
	*ret_insns = body / sizeof(struct sock_filter);
	return 0;
}

/* O_NONBLOCK: a FIFO swapped in after the check must not hang the run. */
static int pc_open_entry(int dfd, const char *dir, const char *name, const struct pc_key *key,
			 size_t *ret_insns, struct nsrun_error *err)
{
	struct stat st;
	int fd, r;

	/* Not even opened unless a regular file: opening a device has effects. */
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return nsrun_err_sys(err, "policy cache %s/%s", dir, name);
	if (!S_ISREG(st.st_mode))
		return nsrun_err(err, EINVAL, "policy cache %s/%s: not a regular file", dir, name);
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return nsrun_err_sys(err, "policy cache %s/%s", dir, name);
	r = fstat(fd, &st) < 0 ? nsrun_err_sys(err, "policy cache %s/%s", dir, name)
			       : pc_check_stat(&st, key, dir, name, ret_insns, err);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

/* ---- load ---- */

static int pc_read_all(int fd, char *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	return 0;
}

static int pc_check(const char *buf, const struct pc_key *key, size_t insns, const char *dir,
		    const char *name, struct nsrun_error *err)
{
	const char *ids = buf + sizeof(struct pc_header);
	const char *policy = ids + key->ids_len, *prog = policy + key->policy_len;
	struct pc_header h;

	memcpy(&h, buf, sizeof(h));
	if (memcmp(h.magic, PC_MAGIC, sizeof(h.magic)) != 0 || h.format != PC_FORMAT ||
	    h.prog_len != insns)
		return nsrun_err(err, EINVAL, "policy cache %s/%s: not a cache file of this format",
				 dir, name);
	if (h.ids_len != key->ids_len || h.policy_len != key->policy_len ||
	    memcmp(ids, key->ids, key->ids_len) != 0 ||
	    memcmp(policy, key->policy, key->policy_len) != 0)
		return nsrun_err(err, ESTALE, "policy cache %s/%s: made for another policy or build",
				 dir, name);
	if (pc_fnv1a(PC_FNV_BASIS, prog, insns * sizeof(struct sock_filter)) != h.prog_sum)
		return nsrun_err(err, EINVAL, "policy cache %s/%s: the program does not match its "
					      "checksum", dir, name);
	return 0;
}

static int pc_read_entry(int fd, const char *dir, const char *name, const struct pc_key *key,
			 size_t insns, struct sc_program *ret, struct nsrun_error *err)
{
	size_t head = sizeof(struct pc_header) + key->ids_len + key->policy_len;
	size_t prog_size = insns * sizeof(struct sock_filter);
	char *buf;
	int r;

	if (insns == 0 || insns > BPF_MAXINSNS) /* pc_open_entry's checks; said again for the analyzer */
		return nsrun_err(err, EINVAL, "policy cache %s/%s: no program", dir, name);
	buf = malloc(head + prog_size);
	if (!buf)
		return nsrun_err(err, ENOMEM, "policy cache: out of memory");
	r = pc_read_all(fd, buf, head + prog_size);
	if (r < 0)
		r = nsrun_err(err, -r, "policy cache %s/%s: %s", dir, name, strerror(-r));
	else
		r = pc_check(buf, key, insns, dir, name, err);
	if (r == 0) {
		ret->filter = malloc(prog_size);
		if (ret->filter) {
			memcpy(ret->filter, buf + head, prog_size);
			ret->len = (unsigned short)insns;
		} else {
			r = nsrun_err(err, ENOMEM, "policy cache: out of memory");
		}
	}
	free(buf);
	return r;
}

int pc_load(const char *dir, const struct pc_key *key, struct sc_program *ret,
	    struct nsrun_error *err)
{
	char name[PC_NAME_SIZE];
	size_t insns = 0;
	int dfd, fd, r;

	ret->filter = NULL;
	ret->len = 0;
	dfd = pc_open_dir(dir, 0, err);
	if (dfd < 0)
		return dfd;
	pc_file_name(key, name);
	fd = pc_open_entry(dfd, dir, name, key, &insns, err);
	close(dfd);
	if (fd < 0)
		return fd;
	r = pc_read_entry(fd, dir, name, key, insns, ret, err);
	close(fd);
	return r;
}

/* ---- store ---- */

/* What is under the name may be replaced only if it is a regular file of
 * ours: anything else was not put there by nsrun, and stays. */
static int pc_replaceable(int dfd, const char *dir, const char *name, struct nsrun_error *err)
{
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : nsrun_err_sys(err, "policy cache %s/%s", dir, name);
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid())
		return nsrun_err(err, EEXIST, "policy cache %s/%s: not a file of uid %u; left as it is",
				 dir, name, (unsigned)geteuid());
	return 0;
}

static void pc_header_init(struct pc_header *h, const struct pc_key *key,
			   const struct sc_program *prog)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, PC_MAGIC, sizeof(h->magic));
	h->format = PC_FORMAT;
	h->ids_len = (uint32_t)key->ids_len;
	h->policy_len = key->policy_len;
	h->prog_len = prog->len;
	h->prog_sum = pc_fnv1a(PC_FNV_BASIS, prog->filter, prog->len * sizeof(*prog->filter));
}

static int pc_write(int fd, const struct pc_key *key, const struct sc_program *prog)
{
	struct pc_header h;
	int r;

	pc_header_init(&h, key, prog);
	r = fchmod(fd, 0600) < 0 ? -errno : 0; /* whatever the umask */
	if (r == 0)
		r = write_all(fd, &h, sizeof(h));
	if (r == 0)
		r = write_all(fd, key->ids, key->ids_len);
	if (r == 0)
		r = write_all(fd, key->policy, key->policy_len);
	if (r == 0)
		r = write_all(fd, prog->filter, prog->len * sizeof(*prog->filter));
	return r;
}

/* No fsync: a file cut short by a crash fails the size or checksum test,
 * and a miss only costs a compile. */
static int pc_write_temp(int dfd, const char *dir, const struct pc_key *key,
			 const struct sc_program *prog, char *tmp, size_t size,
			 struct nsrun_error *err)
{
	static unsigned counter;
	int fd, r;

	snprintf(tmp, size, ".tmp-%ld-%u", (long)getpid(), counter++);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return nsrun_err_sys(err, "policy cache %s/%s", dir, tmp);
	r = pc_write(fd, key, prog);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0) {
		unlinkat(dfd, tmp, 0);
		return nsrun_err(err, -r, "policy cache %s/%s: %s", dir, tmp, strerror(-r));
	}
	return 0;
}

static int pc_is_entry_name(const char *name)
{
	return strlen(name) == PC_NAME_SIZE - 1 && strspn(name, "0123456789abcdef") == 16 &&
	       strcmp(name + 16, ".bpf") == 0;
}

struct pc_scan {
	size_t count; /* entries */
	char oldest[PC_NAME_SIZE];
	struct timespec oldest_time;
};

static void pc_scan_one(int dfd, const char *name, const char *keep, time_t now,
			struct pc_scan *scan)
{
	const struct timespec *t;
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid())
		return; /* not ours to remove */
	if (strncmp(name, ".tmp-", 5) == 0 && now - st.st_mtime > PC_STALE_TEMP_S)
		unlinkat(dfd, name, 0);
	if (!pc_is_entry_name(name))
		return;
	scan->count++;
	t = &st.st_mtim;
	if (strcmp(name, keep) != 0 &&
	    (!scan->oldest[0] || t->tv_sec < scan->oldest_time.tv_sec ||
	     (t->tv_sec == scan->oldest_time.tv_sec && t->tv_nsec < scan->oldest_time.tv_nsec))) {
		memcpy(scan->oldest, name, PC_NAME_SIZE);
		scan->oldest_time = *t;
	}
}

/* Every policy edit, nsrun build or kernel update leaves an entry behind:
 * past PC_KEEP entries, the oldest written goes (a hit writes nothing, so
 * this is not LRU).  A temp file an hour old was left by a crashed store. */
static void pc_prune(int dfd, const char *keep)
{
	struct pc_scan scan = {0, "", {0, 0}};
	time_t now = time(NULL);
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	const struct dirent *e;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(d)))
		pc_scan_one(dfd, e->d_name, keep, now, &scan);
	closedir(d);
	if (scan.count > PC_KEEP && scan.oldest[0])
		unlinkat(dfd, scan.oldest, 0);
}

int pc_store(const char *dir, const struct pc_key *key, const struct sc_program *prog,
	     struct nsrun_error *err)
{
	char name[PC_NAME_SIZE], tmp[64];
	int dfd, r;

	if (!prog->filter || prog->len < 1 || prog->len > BPF_MAXINSNS || key->ids_len == 0)
		return nsrun_err(err, EINVAL, "policy cache: nothing to store");
	dfd = pc_open_dir(dir, 2, err);
	if (dfd < 0)
		return dfd;
	pc_file_name(key, name);
	r = pc_replaceable(dfd, dir, name, err);
	if (r == 0)
		r = pc_write_temp(dfd, dir, key, prog, tmp, sizeof(tmp), err);
	if (r == 0 && renameat(dfd, tmp, dfd, name) < 0) {
		r = nsrun_err_sys(err, "policy cache %s/%s", dir, name);
		unlinkat(dfd, tmp, 0);
	}
	if (r == 0)
		pc_prune(dfd, name);
	close(dfd);
	return r;
}
