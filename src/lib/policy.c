/* OCI / Docker seccomp profile -> struct nsrun_policy.
 *
 * Jansson gives positions only for syntax errors.  For the line of a
 * semantic error, pol_locate() walks the raw text along the JSON path of
 * the offending value (top level -> "syscalls" -> element i -> "args" ->
 * element j -> key).  It runs only on text Jansson has already accepted,
 * with duplicate keys rejected, so a path names exactly one place and the
 * walker needs no error handling of its own: it only has to know strings
 * (to skip brackets and commas inside them), brackets and commas. */
#include "policy.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

#define POL_FILE_MAX (4L << 20) /* real profiles are tens of KiB */
#define POL_DEPTH_MAX 4		/* syscalls[i].args[j] */
#define POL_ERRNO_MAX 4095	/* the kernel keeps SECCOMP_RET_DATA & 0xfff for errno */
#define POL_ARCH_MAX ((int)(sizeof(((struct nsrun_policy *)0)->arches) / \
			    sizeof(((struct nsrun_policy *)0)->arches[0])))

struct pol_seg {
	const char *key; /* NULL: element index of an array */
	size_t index;
};

struct pol_ctx {
	const char *text;
	size_t len;
	const char *name;
	const int *rule_lines; /* line of each syscalls[] element */
	struct pol_seg path[POL_DEPTH_MAX];
	unsigned depth; /* where the parser is, for messages */
	struct nsrun_error *err;
};

struct pol_cur {
	const char *p;
	const char *end;
	int line;
};

struct pol_name {
	const char *name;
	int value;
};

static const struct pol_name pol_actions[] = {
	{"SCMP_ACT_ALLOW", POL_ACT_ALLOW},
	{"SCMP_ACT_ERRNO", POL_ACT_ERRNO},
	{"SCMP_ACT_KILL", POL_ACT_KILL_THREAD}, /* libseccomp's historic name */
	{"SCMP_ACT_KILL_THREAD", POL_ACT_KILL_THREAD},
	{"SCMP_ACT_KILL_PROCESS", POL_ACT_KILL_PROCESS},
	{"SCMP_ACT_TRAP", POL_ACT_TRAP},
	{"SCMP_ACT_LOG", POL_ACT_LOG},
	{NULL, 0},
};

static const struct pol_name pol_ops[] = {
	{"SCMP_CMP_NE", POL_OP_NE},
	{"SCMP_CMP_LT", POL_OP_LT},
	{"SCMP_CMP_LE", POL_OP_LE},
	{"SCMP_CMP_EQ", POL_OP_EQ},
	{"SCMP_CMP_GE", POL_OP_GE},
	{"SCMP_CMP_GT", POL_OP_GT},
	{"SCMP_CMP_MASKED_EQ", POL_OP_MASKED_EQ},
	{NULL, 0},
};

/* The OCI runtime-spec list; whether libseccomp supports one is checked by
 * sc_compile(), here we only catch typos while we still know the line. */
static const char *const pol_arch_names[] = {
	"SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",    "SCMP_ARCH_X32",	  "SCMP_ARCH_ARM",
	"SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",	    "SCMP_ARCH_MIPS64",	  "SCMP_ARCH_MIPS64N32",
	"SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64",  "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
	"SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",   "SCMP_ARCH_S390",	  "SCMP_ARCH_S390X",
	"SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64",  "SCMP_ARCH_RISCV64",	  "SCMP_ARCH_LOONGARCH64",
	NULL,
};

static const char *const pol_top_keys[] = {
	"defaultAction", "defaultErrnoRet", "architectures", "syscalls", NULL,
};
static const char *const pol_rule_keys[] = {
	"names", "name", "action", "errnoRet", "args", "comment", NULL,
};
static const char *const pol_arg_keys[] = {"index", "value", "valueTwo", "op", NULL};

/* ---- raw-text walker (see the top of the file) ---- */

static void cur_ws(struct pol_cur *c)
{
	for (; c->p < c->end; c->p++) {
		if (*c->p == '\n')
			c->line++;
		else if (*c->p != ' ' && *c->p != '\t' && *c->p != '\r')
			return;
	}
}

/* At an opening quote: move past the closing one (JSON strings hold no raw
 * newline, so the line count cannot change). */
static void cur_string(struct pol_cur *c)
{
	for (c->p++; c->p < c->end && *c->p != '"'; c->p++) {
		if (*c->p == '\\')
			c->p++;
	}
	if (c->p < c->end)
		c->p++;
}

/* Move past one value and the whitespace after it. */
static void cur_skip(struct pol_cur *c)
{
	unsigned depth = 0;

	while (c->p < c->end) {
		char ch = *c->p;

		if (depth == 0 && (ch == ',' || ch == '}' || ch == ']'))
			return;
		if (ch == '"') {
			cur_string(c);
			continue;
		}
		if (ch == '\n')
			c->line++;
		else if (ch == '{' || ch == '[')
			depth++;
		else if (ch == '}' || ch == ']')
			depth--;
		c->p++;
	}
}

/* Escaped keys ("sys\u0063alls") are rare: only they pay for a decode. */
static int cur_key_is(const struct pol_cur *c, const char *key)
{
	struct pol_cur e = *c;
	size_t n;
	json_t *s;
	int same;

	cur_string(&e);
	n = (size_t)(e.p - c->p);
	if (n < 2)
		return 0;
	if (!memchr(c->p, '\\', n))
		return n - 2 == strlen(key) && memcmp(c->p + 1, key, n - 2) == 0;
	s = json_loadb(c->p, n, JSON_DECODE_ANY, NULL);
	same = json_is_string(s) && strcmp(json_string_value(s), key) == 0;
	json_decref(s);
	return same;
}

/* From a key to the start of its value. */
static void cur_to_value(struct pol_cur *c)
{
	cur_string(c);
	cur_ws(c);
	c->p++; /* ':' */
	cur_ws(c);
}

/* At the start of a container: move to the member seg names (to its key,
 * for objects).  0 when the container has no such member. */
static int cur_enter(struct pol_cur *c, const struct pol_seg *seg)
{
	if (c->p >= c->end || *c->p != (seg->key ? '{' : '['))
		return 0;
	c->p++;
	for (size_t i = 0;; i++) {
		cur_ws(c);
		if (c->p >= c->end || *c->p == '}' || *c->p == ']')
			return 0;
		if (seg->key ? cur_key_is(c, seg->key) : i == seg->index)
			return 1;
		if (seg->key)
			cur_to_value(c);
		cur_skip(c);
		if (c->p >= c->end || *c->p != ',')
			return 0;
		c->p++;
	}
}

/* Line of the value at path (of its key, when the path ends with a key),
 * or of the deepest enclosing value that exists. */
static int pol_locate(const char *text, size_t len, const struct pol_seg *path, unsigned n)
{
	struct pol_cur c = {text, text + len, 1};
	int line;

	cur_ws(&c);
	line = c.line;
	for (unsigned i = 0; i < n; i++) {
		if (!cur_enter(&c, &path[i]))
			break;
		line = c.line;
		if (path[i].key)
			cur_to_value(&c);
	}
	return line;
}

/* One pass for the lines of all n syscalls[] elements (a locate per rule
 * would rescan the text n times). */
static void pol_rule_lines(const char *text, size_t len, int *lines, size_t n)
{
	static const struct pol_seg syscalls = {"syscalls", 0};
	struct pol_cur c = {text, text + len, 1};

	cur_ws(&c);
	if (!cur_enter(&c, &syscalls))
		return;
	cur_to_value(&c);
	c.p++; /* '[' */
	for (size_t i = 0; i < n && c.p < c.end; i++) {
		cur_ws(&c);
		lines[i] = c.line;
		cur_skip(&c);
		c.p++; /* ',' */
	}
}

/* ---- error reporting ---- */

/* Enter array[index]; the parser never nests deeper than POL_DEPTH_MAX. */
static void ctx_push(struct pol_ctx *ctx, const char *array, size_t index)
{
	ctx->path[ctx->depth++] = (struct pol_seg){array, 0};
	ctx->path[ctx->depth++] = (struct pol_seg){NULL, index};
}

static void ctx_pop(struct pol_ctx *ctx)
{
	ctx->depth -= 2;
}

static void ctx_where(const struct pol_ctx *ctx, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < ctx->depth && used < size; i++) {
		const struct pol_seg *s = &ctx->path[i];
		int n = s->key ? snprintf(buf + used, size - used, "%s%s", i ? "." : "", s->key)
			       : snprintf(buf + used, size - used, "[%zu]", s->index);

		if (n < 0)
			break;
		used += (size_t)n;
	}
}

/* "NAME:LINE: WHERE: reason", LINE being that of key in the object the
 * parser is in (of the object itself when key is NULL or absent). */
static int pol_fail(struct pol_ctx *ctx, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int pol_fail(struct pol_ctx *ctx, const char *key, const char *fmt, ...)
{
	struct pol_seg path[POL_DEPTH_MAX + 1];
	char where[64], reason[sizeof(ctx->err->msg)];
	unsigned n = ctx->depth;
	va_list ap;
	int line;

	memcpy(path, ctx->path, n * sizeof(path[0]));
	if (key)
		path[n++] = (struct pol_seg){key, 0};
	line = pol_locate(ctx->text, ctx->len, path, n);
	ctx_where(ctx, where, sizeof(where));
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	return nsrun_err(ctx->err, EINVAL, "%s:%d: %s%s%s", ctx->name, line, where,
			 where[0] ? ": " : "", reason);
}

/* ---- value helpers ---- */

static int pol_lookup(const struct pol_name *table, const char *name, int *ret)
{
	for (; table->name; table++) {
		if (strcmp(table->name, name) == 0) {
			*ret = table->value;
			return 1;
		}
	}
	return 0;
}

static int pol_in_list(const char *const *list, const char *s)
{
	for (; *list; list++) {
		if (strcmp(*list, s) == 0)
			return 1;
	}
	return 0;
}

static int pol_unknown_key(struct pol_ctx *ctx, const char *key)
{
	int r;

	if (strcmp(key, "includes") == 0 || strcmp(key, "excludes") == 0) {
		pol_fail(ctx, key, "'%s' is not supported", key);
		return nsrun_err_hint(ctx->err, "nsrun applies every rule; resolve Docker's "
						"capability/arch/kernel conditions into plain rules");
	}
	r = pol_fail(ctx, key, "unknown key '%s'", key);
	if (strcmp(key, "archMap") == 0)
		return nsrun_err_hint(ctx->err, "list the SCMP_ARCH_* names in 'architectures'");
	return r;
}

static int pol_check_keys(struct pol_ctx *ctx, json_t *obj, const char *const *allowed)
{
	for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
		const char *key = json_object_iter_key(it);

		if (!pol_in_list(allowed, key))
			return pol_unknown_key(ctx, key);
	}
	return 0;
}

/* Non-negative JSON integer of obj[key] (Jansson refuses integers above
 * INT64_MAX at parse time, so larger seccomp data cannot be written). */
static int pol_get_u64(struct pol_ctx *ctx, json_t *obj, const char *key, uint64_t *ret)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return pol_fail(ctx, NULL, "missing required key '%s'", key);
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return pol_fail(ctx, key, "'%s' must be a non-negative integer", key);
	*ret = (uint64_t)json_integer_value(v);
	return 0;
}

/* ---- profile parts ---- */

/* akey holds the action, ekey the optional errno (only for SCMP_ACT_ERRNO,
 * EPERM when absent, as in Docker and the OCI spec). */
static int pol_parse_action(struct pol_ctx *ctx, json_t *obj, const char *akey, const char *ekey,
			    enum pol_action *ret_act, int *ret_errno)
{
	json_t *a = json_object_get(obj, akey), *e = json_object_get(obj, ekey);
	int act;

	if (!a)
		return pol_fail(ctx, NULL, "missing required key '%s'", akey);
	if (!json_is_string(a))
		return pol_fail(ctx, akey, "'%s' must be a string", akey);
	if (!pol_lookup(pol_actions, json_string_value(a), &act)) {
		pol_fail(ctx, akey, "unknown action '%s'", json_string_value(a));
		return nsrun_err_hint(ctx->err, "use SCMP_ACT_ALLOW, _ERRNO, _KILL, _KILL_THREAD, "
						"_KILL_PROCESS, _TRAP or _LOG");
	}
	*ret_act = (enum pol_action)act;
	*ret_errno = act == POL_ACT_ERRNO ? EPERM : 0;
	if (!e)
		return 0;
	if (act != POL_ACT_ERRNO)
		return pol_fail(ctx, ekey, "'%s' is only valid with SCMP_ACT_ERRNO", ekey);
	if (!json_is_integer(e) || json_integer_value(e) < 1 ||
	    json_integer_value(e) > POL_ERRNO_MAX)
		return pol_fail(ctx, ekey, "'%s' must be an integer in 1..%d", ekey, POL_ERRNO_MAX);
	*ret_errno = (int)json_integer_value(e);
	return 0;
}

static int pol_parse_arches(struct pol_ctx *ctx, json_t *root, struct nsrun_policy *pol)
{
	json_t *arr = json_object_get(root, "architectures");
	size_t i;
	json_t *v;

	if (!arr)
		return 0;
	if (!json_is_array(arr))
		return pol_fail(ctx, "architectures", "'architectures' must be an array of strings");
	if (json_array_size(arr) > (size_t)POL_ARCH_MAX)
		return pol_fail(ctx, "architectures", "more than %d architectures", POL_ARCH_MAX);
	json_array_foreach(arr, i, v) {
		const char *name = json_string_value(v);
		int r = 0;

		ctx_push(ctx, "architectures", i);
		if (!name)
			r = pol_fail(ctx, NULL, "an architecture must be a string");
		else if (!pol_in_list(pol_arch_names, name))
			r = pol_fail(ctx, NULL, "unknown architecture '%s'", name);
		ctx_pop(ctx);
		if (r < 0)
			return r;
		snprintf(pol->arches[pol->n_arches++], sizeof(pol->arches[0]), "%s", name);
	}
	return 0;
}

static int pol_check_arg_values(struct pol_ctx *ctx, const struct pol_arg *arg)
{
	/* Docker/runc: for MASKED_EQ "value" is the mask and "valueTwo" the
	 * datum, (arg & value) == valueTwo; other ops ignore valueTwo. */
	if (arg->op == POL_OP_MASKED_EQ && (arg->value_two & ~arg->value))
		return pol_fail(ctx, "valueTwo", "valueTwo has bits outside the mask 'value', "
						 "so the rule could never match");
	if (arg->op != POL_OP_MASKED_EQ && arg->value_two)
		return pol_fail(ctx, "valueTwo", "valueTwo is only used by SCMP_CMP_MASKED_EQ");
	return 0;
}

static int pol_parse_arg(struct pol_ctx *ctx, json_t *obj, struct pol_arg *arg)
{
	json_t *op = json_object_get(obj, "op");
	uint64_t index = 0;
	int r, o;

	if (!json_is_object(obj))
		return pol_fail(ctx, NULL, "an argument comparison must be an object");
	r = pol_check_keys(ctx, obj, pol_arg_keys);
	if (r == 0)
		r = pol_get_u64(ctx, obj, "index", &index);
	if (r == 0 && index >= POL_MAX_ARGS)
		r = pol_fail(ctx, "index", "index %llu is not a syscall argument (0..%d)",
			     (unsigned long long)index, POL_MAX_ARGS - 1);
	if (r == 0)
		r = pol_get_u64(ctx, obj, "value", &arg->value);
	if (r == 0 && json_object_get(obj, "valueTwo"))
		r = pol_get_u64(ctx, obj, "valueTwo", &arg->value_two);
	if (r < 0)
		return r;
	if (!op)
		return pol_fail(ctx, NULL, "missing required key 'op'");
	if (!json_is_string(op))
		return pol_fail(ctx, "op", "'op' must be a string");
	if (!pol_lookup(pol_ops, json_string_value(op), &o)) {
		pol_fail(ctx, "op", "unknown op '%s'", json_string_value(op));
		return nsrun_err_hint(ctx->err, "use SCMP_CMP_NE, _LT, _LE, _EQ, _GE, _GT or _MASKED_EQ");
	}
	arg->index = (unsigned)index;
	arg->op = (enum pol_op)o;
	return pol_check_arg_values(ctx, arg);
}

static int pol_parse_args(struct pol_ctx *ctx, json_t *rule, struct pol_rule *tmpl)
{
	json_t *arr = json_object_get(rule, "args");
	size_t i;
	json_t *v;

	if (!arr || json_is_null(arr)) /* Docker writes "args": null */
		return 0;
	if (!json_is_array(arr))
		return pol_fail(ctx, "args", "'args' must be an array");
	if (json_array_size(arr) > POL_MAX_ARGS)
		return pol_fail(ctx, "args", "more than %d argument comparisons", POL_MAX_ARGS);
	json_array_foreach(arr, i, v) {
		int r;

		ctx_push(ctx, "args", i);
		r = pol_parse_arg(ctx, v, &tmpl->args[i]);
		ctx_pop(ctx);
		if (r < 0)
			return r;
	}
	tmpl->n_args = (unsigned)json_array_size(arr);
	return 0;
}

/* "names": [...] or the older "name": "..."; returns them as an array. */
static int pol_get_names(struct pol_ctx *ctx, json_t *rule, json_t **ret)
{
	json_t *names = json_object_get(rule, "names"), *name = json_object_get(rule, "name");
	size_t i;
	json_t *v;

	*ret = NULL;
	if (names && name)
		return pol_fail(ctx, "name", "use either 'name' or 'names', not both");
	if (name && !json_is_string(name))
		return pol_fail(ctx, "name", "'name' must be a string");
	if (!names && !name)
		return pol_fail(ctx, NULL, "missing required key 'names'");
	if (names && (!json_is_array(names) || json_array_size(names) == 0))
		return pol_fail(ctx, "names", "'names' must be a non-empty array of strings");
	*ret = names ? json_incref(names) : json_pack("[O]", name);
	if (!*ret)
		return nsrun_err(ctx->err, ENOMEM, "%s: out of memory", ctx->name);
	json_array_foreach(*ret, i, v) {
		const char *s = json_string_value(v);

		if (!s || !s[0] || strlen(s) >= POL_NAME_MAX) {
			json_decref(*ret);
			*ret = NULL; /* the caller releases it too */
			return pol_fail(ctx, names ? "names" : "name",
					"syscall names must be non-empty strings shorter than %d",
					POL_NAME_MAX);
		}
	}
	return 0;
}

static int pol_expand(struct pol_ctx *ctx, json_t *names, const struct pol_rule *tmpl,
		      struct nsrun_policy *pol, size_t cap)
{
	size_t i;
	json_t *v;

	json_array_foreach(names, i, v) {
		struct pol_rule *rule;

		if (pol->n_rules >= cap) /* cannot happen: pol_count_rules() sized it */
			return nsrun_err(ctx->err, EOVERFLOW, "%s: rule count changed", ctx->name);
		rule = &pol->rules[pol->n_rules++];
		*rule = *tmpl;
		snprintf(rule->name, sizeof(rule->name), "%s", json_string_value(v));
	}
	return 0;
}

static int pol_parse_rule(struct pol_ctx *ctx, json_t *obj, size_t i, struct nsrun_policy *pol,
			  size_t cap)
{
	struct pol_rule tmpl = {.line = ctx->rule_lines[i]};
	json_t *comment, *names = NULL;
	int r;

	if (!json_is_object(obj))
		return pol_fail(ctx, NULL, "a rule must be an object");
	r = pol_check_keys(ctx, obj, pol_rule_keys);
	if (r < 0)
		return r;
	comment = json_object_get(obj, "comment");
	if (comment && !json_is_string(comment))
		return pol_fail(ctx, "comment", "'comment' must be a string");
	r = pol_get_names(ctx, obj, &names);
	if (r == 0)
		r = pol_parse_action(ctx, obj, "action", "errnoRet", &tmpl.action, &tmpl.errno_ret);
	if (r == 0)
		r = pol_parse_args(ctx, obj, &tmpl);
	if (r == 0)
		r = pol_expand(ctx, names, &tmpl, pol, cap);
	json_decref(names);
	return r;
}

/* Upper bound of the expanded rule count, so rules[] is allocated once. */
static size_t pol_count_rules(json_t *syscalls)
{
	size_t i, n = 0;
	json_t *v;

	json_array_foreach(syscalls, i, v) {
		json_t *names = json_object_get(v, "names");

		n += json_is_array(names) ? json_array_size(names) : 1;
	}
	return n;
}

static int pol_parse_syscalls(struct pol_ctx *ctx, json_t *root, struct nsrun_policy *pol)
{
	json_t *arr = json_object_get(root, "syscalls");
	size_t i, n, cap;
	int *lines, r = 0;
	json_t *v;

	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return pol_fail(ctx, "syscalls", "'syscalls' must be an array");
	n = json_array_size(arr);
	cap = pol_count_rules(arr);
	lines = calloc(n ? n : 1, sizeof(*lines));
	pol->rules = calloc(cap ? cap : 1, sizeof(*pol->rules));
	if (!lines || !pol->rules) {
		free(lines);
		return nsrun_err(ctx->err, ENOMEM, "%s: out of memory", ctx->name);
	}
	pol_rule_lines(ctx->text, ctx->len, lines, n);
	ctx->rule_lines = lines;
	json_array_foreach(arr, i, v) {
		ctx_push(ctx, "syscalls", i);
		r = pol_parse_rule(ctx, v, i, pol, cap);
		ctx_pop(ctx);
		if (r < 0)
			break;
	}
	ctx->rule_lines = NULL;
	free(lines);
	return r;
}

static int pol_parse_root(struct pol_ctx *ctx, json_t *root, struct nsrun_policy *pol)
{
	int r;

	if (!json_is_object(root))
		return pol_fail(ctx, NULL, "the profile must be a JSON object");
	r = pol_check_keys(ctx, root, pol_top_keys);
	if (r == 0)
		r = pol_parse_action(ctx, root, "defaultAction", "defaultErrnoRet",
				     &pol->default_action, &pol->default_errno);
	if (r == 0)
		r = pol_parse_arches(ctx, root, pol);
	if (r == 0)
		r = pol_parse_syscalls(ctx, root, pol);
	return r;
}

static int pol_parse(const char *text, size_t len, const char *name, struct nsrun_policy *pol,
		     struct nsrun_error *err)
{
	struct pol_ctx ctx = {.text = text, .len = len, .name = name, .err = err};
	json_error_t jerr;
	json_t *root;
	int r;

	memset(pol, 0, sizeof(*pol));
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		if (jerr.line < 1)
			return nsrun_err(err, EINVAL, "%s: %s", name, jerr.text);
		return nsrun_err(err, EINVAL, "%s:%d:%d: %s", name, jerr.line, jerr.column,
				 jerr.text);
	}
	pol->source = strdup(name);
	r = pol->source ? pol_parse_root(&ctx, root, pol)
			: nsrun_err(err, ENOMEM, "%s: out of memory", name);
	json_decref(root);
	if (r < 0)
		pol_free(pol);
	return r;
}

static int pol_read_fd(int fd, const char *path, size_t size, char **ret, size_t *ret_len,
		       struct nsrun_error *err)
{
	char *buf = malloc(size + 1);
	size_t len = 0;

	if (!buf)
		return nsrun_err(err, ENOMEM, "%s: out of memory", path);
	while (len < size) {
		ssize_t n = read(fd, buf + len, size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return nsrun_err_sys(err, "%s", path);
		}
		if (n == 0)
			break; /* shrank since fstat: parse what is there */
		len += (size_t)n;
	}
	buf[len] = '\0';
	*ret = buf;
	*ret_len = len;
	return 0;
}

/* Read whole, so the parser and pol_locate() see the same bytes. */
int pol_read_file(const char *path, char **ret, size_t *ret_len, struct nsrun_error *err)
{
	struct stat st;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return nsrun_err_sys(err, "%s", path);
	if (fstat(fd, &st) < 0)
		r = nsrun_err_sys(err, "%s", path);
	else if (!S_ISREG(st.st_mode))
		r = nsrun_err(err, EINVAL, "%s: not a regular file", path);
	else if (st.st_size > POL_FILE_MAX)
		r = nsrun_err(err, EFBIG, "%s: larger than %ld bytes", path, POL_FILE_MAX);
	else
		r = pol_read_fd(fd, path, (size_t)st.st_size, ret, ret_len, err);
	close(fd);
	return r;
}

int pol_load_file(const char *path, struct nsrun_policy *ret, struct nsrun_error *err)
{
	char *text = NULL;
	size_t len = 0;
	int r;

	memset(ret, 0, sizeof(*ret));
	r = pol_read_file(path, &text, &len, err);
	if (r < 0)
		return r;
	r = pol_load_buffer(text, len, path, ret, err);
	free(text);
	return r;
}

int pol_load_buffer(const char *text, size_t len, const char *name, struct nsrun_policy *ret,
		    struct nsrun_error *err)
{
	memset(ret, 0, sizeof(*ret));
	return pol_parse(text, len, name, ret, err);
}

int pol_load_string(const char *json, const char *name, struct nsrun_policy *ret,
		    struct nsrun_error *err)
{
	memset(ret, 0, sizeof(*ret));
	if (!name)
		name = "<policy>";
	if (!json)
		return nsrun_err(err, EINVAL, "%s: no policy text", name);
	return pol_parse(json, strlen(json), name, ret, err);
}

void pol_free(struct nsrun_policy *pol)
{
	if (!pol)
		return;
	free(pol->rules);
	free(pol->source);
	memset(pol, 0, sizeof(*pol));
}
