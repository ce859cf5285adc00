/* clock.c — time() for programs: a monotonic clock in seconds. */
#include <time.h>

#include "rt_internal.h"

/* CLOCK_MONOTONIC does not jump when the wall clock is set. */
double tns_time(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
