/* The sandbox's network namespace holds only a loopback interface, up,
 * like `docker run --network none`. */
#ifndef NSRUN_NET_H
#define NSRUN_NET_H

#include "nsrun.h"

int net_loopback_up_in_child(struct nsrun_error *err);

#endif
