/* Strict parsers for the sizes and durations users type: "128M", "1.5s",
 * "500ms".  Decimal arithmetic is done on integers so the result never
 * depends on the locale or on floating-point rounding. */
#include "nsrun.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

struct unit {
	const char *suffix;
	uint64_t scale;
};

#define MAX_FRACTION_DIGITS 9

/* Parse "DIGITS[.DIGITS]" at *text into value*10^frac_digits. */
static int parse_decimal(const char **text, uint64_t *ret_scaled, unsigned *ret_frac_digits)
{
	const char *p = *text;
	uint64_t value = 0;
	unsigned frac_digits = 0, int_digits = 0;
	int in_fraction = 0;

	for (;; p++) {
		if (*p == '.' && !in_fraction) {
			in_fraction = 1;
			continue;
		}
		if (*p < '0' || *p > '9')
			break;
		if (value > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		value = value * 10 + (uint64_t)(*p - '0');
		if (in_fraction && ++frac_digits > MAX_FRACTION_DIGITS)
			return -EINVAL;
		if (!in_fraction)
			int_digits++;
	}
	if (int_digits == 0 || (in_fraction && frac_digits == 0))
		return -EINVAL;
	*text = p;
	*ret_scaled = value;
	*ret_frac_digits = frac_digits;
	return 0;
}

static int apply_unit(const char *text, const struct unit *units, size_t n_units, uint64_t *ret)
{
	uint64_t scaled, divisor = 1;
	unsigned frac_digits;
	int r;

	r = parse_decimal(&text, &scaled, &frac_digits);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < frac_digits; i++)
		divisor *= 10;
	for (size_t i = 0; i < n_units; i++) {
		if (strcasecmp(text, units[i].suffix) != 0)
			continue;
		if (scaled != 0 && units[i].scale > UINT64_MAX / scaled)
			return -ERANGE;
		if ((scaled * units[i].scale) % divisor != 0)
			return -EINVAL; /* not a whole number of the base unit */
		*ret = scaled * units[i].scale / divisor;
		return 0;
	}
	return -EINVAL;
}

int nsrun_parse_size(const char *text, uint64_t *ret_bytes)
{
	/* IEC multiples, as Docker's --memory reads them (1M = 1048576). */
	static const struct unit units[] = {
		{"", 1},
		{"b", 1},
		{"k", 1ULL << 10},
		{"kb", 1ULL << 10},
		{"kib", 1ULL << 10},
		{"m", 1ULL << 20},
		{"mb", 1ULL << 20},
		{"mib", 1ULL << 20},
		{"g", 1ULL << 30},
		{"gb", 1ULL << 30},
		{"gib", 1ULL << 30},
		{"t", 1ULL << 40},
		{"tb", 1ULL << 40},
		{"tib", 1ULL << 40},
	};

	if (!text)
		return -EINVAL;
	return apply_unit(text, units, sizeof(units) / sizeof(units[0]), ret_bytes);
}

int nsrun_parse_duration(const char *text, uint64_t *ret_ms)
{
	/* A bare number is seconds, as for GNU timeout. */
	static const struct unit units[] = {
		{"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000},
	};

	if (!text)
		return -EINVAL;
	return apply_unit(text, units, sizeof(units) / sizeof(units[0]), ret_ms);
}
