/* Human wording shared by the CLI's messages and the JSON document. */
#ifndef NSRUN_FORMAT_H
#define NSRUN_FORMAT_H

#include <stddef.h>
#include <stdint.h>

/* "10 seconds", "1 second", "1.5 seconds", "0.25 seconds" */
void format_duration(uint64_t ms, char *buf, size_t size);
/* "128M", "1G", "1536K", "100 bytes" */
void format_size(uint64_t bytes, char *buf, size_t size);

#endif
