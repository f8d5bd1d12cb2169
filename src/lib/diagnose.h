/* Why the sandbox's namespaces could not be made, said once, with the
 * evidence and the fix.  diag_explain() is pure: it decides from facts
 * (sysctls, container markers, the failed step and its errno) so every
 * kind of restricted host can be unit-tested; diag_read_facts() is the
 * thin reader that gathers those facts from /proc. */
#ifndef NSRUN_DIAGNOSE_H
#define NSRUN_DIAGNOSE_H

#include <stdbool.h>

#include "nsrun.h"

#define DIAG_UNKNOWN (-1L) /* a sysctl that is absent or unreadable */

/* The fixes shared with `nsrun doctor`. */
#define DIAG_FIX_CONTAINER                                                                          \
	"run the container with --security-opt seccomp=unconfined --security-opt "                  \
	"apparmor=unconfined --security-opt systempaths=unconfined (or --privileged), or run nsrun " \
	"on the host"
#define DIAG_FIX_APPARMOR                                                                           \
	"install nsrun's AppArmor profile (docs/hosts.md: /etc/apparmor.d/nsrun, then sudo "        \
	"apparmor_parser -r /etc/apparmor.d/nsrun) or: sudo sysctl -w "                             \
	"kernel.apparmor_restrict_unprivileged_userns=0"
#define DIAG_FIX_DEBIAN                                                                             \
	"sudo sysctl -w kernel.unprivileged_userns_clone=1 (to keep it, add it to /etc/sysctl.d/), " \
	"or run nsrun as root"

enum diag_stage {
	DIAG_STAGE_CLONE,  /* clone3/unshare with CLONE_NEWUSER and the other namespaces */
	DIAG_STAGE_ID_MAP, /* writing /proc/PID/uid_map, setgroups or gid_map */
	DIAG_STAGE_SETUP,  /* a privileged step inside the new namespaces (mount, sethostname) */
};

/* The namespaces nsrun creates, in the order of /proc/sys/user/max_*_namespaces. */
enum diag_ns {
	DIAG_NS_USER,
	DIAG_NS_MNT,
	DIAG_NS_PID,
	DIAG_NS_NET,
	DIAG_NS_IPC,
	DIAG_NS_UTS,
	DIAG_NS_CGROUP,
	DIAG_NS_COUNT,
};

struct diag_facts {
	/* The failure. */
	enum diag_stage stage;
	int err_no;
	char step[96]; /* "clone3", "write /proc/42/uid_map", "mount /proc" */
	/* The host, as diag_read_facts() finds it. */
	long max_ns[DIAG_NS_COUNT];	/* user.max_<ns>_namespaces */
	long unprivileged_userns_clone; /* kernel.unprivileged_userns_clone (Debian kernels) */
	long apparmor_restrict;		/* kernel.apparmor_restrict_unprivileged_userns (Ubuntu) */
	int seccomp_mode;		/* "Seccomp:" of /proc/self/status, -1 unknown */
	bool dockerenv;			/* /.dockerenv exists */
	bool containerenv;		/* /run/.containerenv exists (podman) */
	int chrooted;			/* / is not pid 1's root: 1, 0, or -1 unknown */
	bool privileged;		/* nsrun's effective uid is 0 */
	unsigned map_uid, map_gid;	/* the host ids nsrun maps the sandbox user to */
	char self_uid_map[128];		/* /proc/self/uid_map, whitespace squeezed */
	char self_gid_map[128];
};

/* Pure.  Fills err (kind "userns_denied" when a namespace is at fault) and
 * returns true when the facts explain the failure.  For DIAG_STAGE_CLONE it
 * always explains, with whatever evidence there is; for the other stages an
 * unexplained failure leaves err untouched. */
bool diag_explain(const struct diag_facts *facts, struct nsrun_error *err);

/* Pure: does a uid_map/gid_map text map id (as seen from this namespace)? */
bool diag_map_has(const char *map, unsigned id);
/* Pure: the sysctl-style name of a namespace ("user", "mnt", ...). */
const char *diag_ns_sysctl(enum diag_ns ns);

/* Reader: every host fact (not stage, err_no or step). */
void diag_read_facts(struct diag_facts *facts);

/* Read the facts and explain: the calls the library's failure paths make.
 * diag_clone_failed() always fills err and returns -err_no. */
int diag_clone_failed(int err_no, const char *step, struct nsrun_error *err);
bool diag_explain_failure(enum diag_stage stage, int err_no, const char *step,
			  struct nsrun_error *err);
/* For an error already in err ("step: strerror", code = errno), from the
 * id-map writes or the sandbox's init: rewrites err when the host's policy
 * is the cause.  A refused map write is classified userns_denied either way. */
bool diag_explain_error(enum diag_stage stage, struct nsrun_error *err);

#endif
