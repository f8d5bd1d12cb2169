/* The policy cache: a compiled seccomp program kept on disk, per user, for
 * the exact bytes of the policy file it was compiled from, so that a run
 * whose policy has not changed needs neither Jansson nor libseccomp.
 *
 * A cache file holds its whole key (what the program depends on besides
 * the policy, then every byte of the policy) and the program with its
 * checksum.  A file is used only when the key matches byte for byte, the
 * way to the directory is root's or the caller's, and the directory and
 * the file are the caller's own and writable by no one else; anything else
 * is a miss, and the caller compiles as if there were
 * no cache.  docs/policy-cache.md describes the rules for users. */
#ifndef NSRUN_POLICY_CACHE_H
#define NSRUN_POLICY_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "nsrun.h"
#include "seccomp_bpf.h"

#define PC_IDS_MAX 512
#define PC_NAME_SIZE sizeof("0123456789abcdef.bpf")
#define PC_KEEP 16 /* cache files a store leaves in the directory, at most */

/* Everything besides the policy bytes that the compiled program depends
 * on.  pc_key_native() finds them; tests give their own. */
struct pc_ids {
	const char *nsrun;   /* version and build id of the code that compiles */
	const char *seccomp; /* libseccomp's runtime version and build id */
	const char *kernel;  /* uname: release, version, machine */
	uint32_t arch;	     /* libseccomp's native arch token */
};

struct pc_key {
	char ids[PC_IDS_MAX]; /* struct pc_ids as text */
	size_t ids_len;
	const char *policy; /* the policy file's bytes, not owned */
	size_t policy_len;
};

/* The key for policy bytes on this host, in this process.  Fails (and the
 * caller must not use the cache) when an identity cannot be established,
 * e.g. a binary linked without a build id. */
int pc_key_native(struct pc_key *key, const char *policy, size_t len, struct nsrun_error *err);
int pc_key_init(struct pc_key *key, const struct pc_ids *ids, const char *policy, size_t len,
		struct nsrun_error *err);
/* The file name of key's entry: a hash of the key, only to find the file. */
void pc_file_name(const struct pc_key *key, char name[PC_NAME_SIZE]);

/* 0: *ret holds the cached program for key (free with sc_program_free).
 * <0: a miss, and err says why: -ENOENT nothing cached, -EPERM, -ENOTDIR
 * or -ELOOP an untrusted way, directory or file, -ESTALE a file made for
 * another key, -EINVAL a damaged file or a path that is not absolute. */
int pc_load(const char *dir, const struct pc_key *key, struct sc_program *ret,
	    struct nsrun_error *err);
/* Keep prog for key in dir, which is created 0700 (and its parent, as for
 * ~/.cache) inside a directory of the caller's when missing.  Atomic: a
 * reader sees the old entry or the whole new one.  <0 and err when it did
 * not store; nothing else changed then. */
int pc_store(const char *dir, const struct pc_key *key, const struct sc_program *prog,
	     struct nsrun_error *err);

#endif
