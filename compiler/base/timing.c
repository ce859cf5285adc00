/* timing.c — wall-clock time per compiler stage. */
#include "timing.h"
#include <time.h>

static const char *const labels[ST_COUNT] = {
#define STAGE(id, label) label,
  STAGES(STAGE)
#undef STAGE
};

double timing_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void timing_add(StageTimes *t, Stage s, double since) {
  if (t) t->sec[s] += timing_now() - since;
}

void timing_print(FILE *f, const StageTimes *t) {
  double total = 0;
  for (int i = 0; i < ST_COUNT; i++) total += t->sec[i];
  for (int i = 0; i < ST_COUNT; i++)
    fprintf(f, "tnsc: time %-22s %8.1f ms  %5.1f%%\n", labels[i], t->sec[i] * 1e3,
            total > 0 ? 100 * t->sec[i] / total : 0.0);
  fprintf(f, "tnsc: time %-22s %8.1f ms\n", "total", total * 1e3);
}
