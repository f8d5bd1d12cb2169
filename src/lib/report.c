/* The machine-readable result document, built with Jansson.  One flat,
 * versioned object; nested only for limits, enforcement and error.
 * Consumers must ignore members they do not know (additive changes keep
 * the schema number). */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "nsrun.h"

#define NSRUN_SCHEMA 1

static json_t *signal_name(int sig)
{
	const char *abbrev = sig ? sigabbrev_np(sig) : NULL;

	return abbrev ? json_sprintf("SIG%s", abbrev) : json_null();
}

static size_t utf8_sequence_length(unsigned char lead)
{
	if (lead < 0x80)
		return 1;
	if (lead >= 0xC2 && lead <= 0xDF)
		return 2;
	if ((lead & 0xF0) == 0xE0)
		return 3;
	if (lead >= 0xF0 && lead <= 0xF4)
		return 4;
	return 0;
}

/* Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF),
 * so output that the document calls utf-8 always decodes. */
static int valid_utf8(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		size_t n = utf8_sequence_length(s[i]);
		unsigned long cp;

		if (n == 0 || n > len - i)
			return 0;
		cp = n == 1 ? s[i] : s[i] & (0x7FU >> n);
		for (size_t k = 1; k < n; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3FU);
		}
		if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
		    (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
			return 0;
		i += n;
	}
	return 1;
}

static char *base64(const unsigned char *data, size_t len)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char pad = '=';
	char *out = malloc((len + 2) / 3 * 4 + 1), *p = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		unsigned long chunk = (unsigned long)data[i] << 16;

		if (i + 1 < len)
			chunk |= (unsigned long)data[i + 1] << 8;
		if (i + 2 < len)
			chunk |= data[i + 2];
		*p++ = alphabet[(chunk >> 18) & 63];
		*p++ = alphabet[(chunk >> 12) & 63];
		p[0] = pad;
		p[1] = pad;
		if (i + 1 < len)
			p[0] = alphabet[(chunk >> 6) & 63];
		if (i + 2 < len)
			p[1] = alphabet[chunk & 63];
		p += 2;
	}
	*p = '\0';
	return out;
}

/* NAME, NAME_encoding, NAME_bytes, NAME_truncated for one output stream;
 * NAME is null when the stream was relayed rather than captured. */
static int add_stream(json_t *doc, const char *name, int captured, const char *buf, size_t len,
		      uint64_t total, int truncated)
{
	char key[32];
	json_t *text;
	const char *encoding = "utf-8";

	if (!captured) {
		text = json_null();
	} else if (!buf || valid_utf8((const unsigned char *)buf, len)) {
		text = json_stringn(buf ? buf : "", buf ? len : 0);
	} else {
		char *encoded = base64((const unsigned char *)buf, len);

		text = encoded ? json_string(encoded) : NULL;
		free(encoded);
		encoding = "base64";
	}
	if (!text)
		return -ENOMEM;
	snprintf(key, sizeof(key), "%s_encoding", name);
	json_object_set_new(doc, key, json_string(encoding));
	snprintf(key, sizeof(key), "%s_bytes", name);
	json_object_set_new(doc, key, json_integer((json_int_t)total));
	snprintf(key, sizeof(key), "%s_truncated", name);
	json_object_set_new(doc, key, json_boolean(truncated));
	return json_object_set_new(doc, name, text);
}

static json_t *optional_integer(uint64_t value)
{
	return value ? json_integer((json_int_t)value) : json_null();
}

static const char *killed_by(const struct nsrun_result *res)
{
	switch (res->status) {
	case NSRUN_STATUS_TIMEOUT:
		return res->cpu_timed_out ? "cpu_timeout" : "wall_timeout";
	case NSRUN_STATUS_MEMORY_LIMIT:
		return "oom";
	case NSRUN_STATUS_CANCELLED:
		return "caller_signal";
	default:
		return NULL;
	}
}

static json_t *limits_object(const struct nsrun_config *cfg)
{
	return json_pack("{s:I, s:o, s:I, s:i, s:I, s:o, s:I, s:o, s:s}", "wall_ms",
			 (json_int_t)cfg->timeout_ms, "cpu_ms", optional_integer(cfg->cpu_time_ms),
			 "memory_bytes", (json_int_t)cfg->memory_bytes, "swap_bytes", 0, "pids",
			 (json_int_t)cfg->pids_limit, "output_bytes", optional_integer(cfg->output_limit),
			 "nofile", (json_int_t)cfg->nofile_limit, "tmpfs_bytes",
			 optional_integer(cfg->tmpfs_bytes), "network", "none");
}

static const char *policy_name(const struct nsrun_config *cfg)
{
	const char *path = cfg->seccomp_policy ? cfg->seccomp_policy : NSRUN_DEFAULT_POLICY;
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static json_t *namespaces_array(const struct nsrun_config *cfg, const struct nsrun_result *res)
{
	/* docker run (without userns-remap) makes no user namespace, and a
	 * cgroup namespace only on cgroup v2 hosts. */
	if (cfg->backend == NSRUN_BACKEND_DOCKER)
		return res && res->cgroup_mode == NSRUN_CGROUP_V2
			       ? json_pack("[ssssss]", "mount", "pid", "net", "ipc", "uts", "cgroup")
			       : json_pack("[sssss]", "mount", "pid", "net", "ipc", "uts");
	return json_pack("[sssssss]", "user", "mount", "pid", "net", "ipc", "uts", "cgroup");
}

static const char *cgroup_enforcement(const struct nsrun_config *cfg, const struct nsrun_result *res)
{
	static const char *const names[] = {"none", "cgroup-v1", "cgroup-v2"};

	if (!res || res->cgroup_mode == NSRUN_CGROUP_NONE)
		return "none";
	return cfg->backend == NSRUN_BACKEND_DOCKER ? "docker" : names[res->cgroup_mode];
}

static json_t *enforcement_object(const struct nsrun_config *cfg, const struct nsrun_result *res)
{
	const char *cgroup = cgroup_enforcement(cfg, res);
	int native = cfg->backend == NSRUN_BACKEND_NATIVE;

	return json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s, s:s, s:s, s:o}", "memory", cgroup, "swap",
			 cgroup, "pids", cgroup, "wall", "nsrun-timerfd", "cpu",
			 cfg->cpu_time_ms ? "rlimit" : NULL, "seccomp", policy_name(cfg), "network",
			 native ? "netns-loopback-only" : "docker-network-none", "filesystem",
			 "read-only-rootfs", "namespaces", namespaces_array(cfg, res));
}

/* "mount /proc: Operation not permitted" -> step "mount /proc" */
static json_t *error_object(const struct nsrun_error *err)
{
	const char *colon = strstr(err->msg, ": ");
	const char *errno_name = err->code ? strerrorname_np(err->code) : NULL;

	return json_pack("{s:s, s:s%, s:s?, s:s, s:s?}", "kind", err->kind[0] ? err->kind : "internal",
			 "step", err->msg, colon ? (size_t)(colon - err->msg) : strlen(err->msg),
			 "errno", errno_name, "message", err->msg, "hint",
			 err->hint[0] ? err->hint : NULL);
}

static json_t *cpu_value(const struct nsrun_result *res, uint64_t ms)
{
	return res->cpu_known ? json_integer((json_int_t)ms) : json_null();
}

static int add_outcome(json_t *doc, const struct nsrun_config *cfg, const struct nsrun_result *res)
{
	char message[160];

	nsrun_result_message(cfg, res, message, sizeof(message));
	return json_object_update_new(
		doc, json_pack("{s:s, s:s, s:o, s:o, s:o, s:b, s:b, s:I, s:s?, s:I, s:o, s:o, s:o, s:I, s:I}",
			       "status", nsrun_status_name(res->status), "message", message,
			       "exit_code", res->exit_code >= 0 ? json_integer(res->exit_code) : json_null(),
			       "signal", res->term_signal ? json_integer(res->term_signal) : json_null(),
			       "signal_name", signal_name(res->term_signal), "timed_out", res->timed_out,
			       "oom_killed", res->oom_killed, "oom_kill_count",
			       (json_int_t)res->oom_kill_count, "killed_by", killed_by(res), "wall_ms",
			       (json_int_t)res->wall_ms, "cpu_ms", cpu_value(res, res->cpu_ms), "user_ms",
			       cpu_value(res, res->user_ms), "sys_ms", cpu_value(res, res->sys_ms),
			       "setup_ms", (json_int_t)res->setup_ms, "memory_peak_bytes",
			       (json_int_t)res->memory_peak_bytes));
}

static int add_setup_error(json_t *doc, const struct nsrun_error *err)
{
	return json_object_update_new(
		doc, json_pack("{s:s, s:s, s:n, s:n, s:n, s:b, s:b, s:i, s:n, s:o, s:n, s:n, s:n, s:n,"
			       " s:n, s:n}",
			       "status", "setup_error", "message", err->msg, "exit_code", "signal",
			       "signal_name", "timed_out", 0, "oom_killed", 0, "oom_kill_count", 0,
			       "killed_by", "error", error_object(err), "wall_ms", "cpu_ms", "user_ms",
			       "sys_ms", "setup_ms", "memory_peak_bytes"));
}

static int add_streams(json_t *doc, const struct nsrun_config *cfg, const struct nsrun_result *res)
{
	int r = add_stream(doc, "stdout", cfg->stdout_fd == -1, res->stdout_buf, res->stdout_len,
			   res->stdout_bytes, res->stdout_truncated);

	if (r == 0)
		r = add_stream(doc, "stderr", cfg->stderr_fd == -1, res->stderr_buf, res->stderr_len,
			       res->stderr_bytes, res->stderr_truncated);
	return r;
}

static json_t *warnings_array(const struct nsrun_config *cfg, const struct nsrun_result *res)
{
	json_t *warnings = json_array();

	if (res && cfg->backend == NSRUN_BACKEND_NATIVE && res->cgroup_mode == NSRUN_CGROUP_NONE)
		json_array_append_new(warnings, json_string("ran without memory and pids limits "
							    "(--allow-no-memory-limit): no usable cgroup"));
	return warnings;
}

/* Microseconds, for measuring nsrun itself (scripts/bench reads them). */
static json_t *timings_object(const struct nsrun_result *res)
{
	if (!res)
		return json_null();
	return json_pack("{s:I, s:I}", "setup_us", (json_int_t)res->setup_us, "teardown_us",
			 (json_int_t)res->teardown_us);
}

char *nsrun_result_json(const struct nsrun_config *cfg, const struct nsrun_result *res,
			const struct nsrun_error *err)
{
	static const struct nsrun_result empty;
	json_t *doc = json_pack("{s:i, s:s, s:s}", "schema", NSRUN_SCHEMA, "nsrun_version",
				NSRUN_VERSION, "backend",
				cfg->backend == NSRUN_BACKEND_DOCKER ? "docker" : "native");
	char *text = NULL;
	int r;

	if (!doc)
		return NULL;
	r = err ? add_setup_error(doc, err) : add_outcome(doc, cfg, res);
	if (r == 0)
		r = add_streams(doc, cfg, err ? &empty : res);
	if (r == 0)
		r = json_object_set_new(doc, "limits", limits_object(cfg));
	if (r == 0)
		r = json_object_set_new(doc, "enforcement", enforcement_object(cfg, err ? NULL : res));
	if (r == 0)
		r = json_object_set_new(doc, "warnings", warnings_array(cfg, err ? NULL : res));
	if (r == 0)
		r = json_object_set_new(doc, "timings", timings_object(err ? NULL : res));
	if (r == 0 && !err)
		r = json_object_set_new(doc, "error", json_null());
	if (r == 0)
		text = json_dumps(doc, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(doc);
	return text;
}
