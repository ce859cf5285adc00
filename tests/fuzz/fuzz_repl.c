/* fuzz_repl.c — the REPL's line handling: the input is a session fed to
 * repl_run as its stdin (continuation lines, :commands, bare values,
 * redefinitions, errors between inputs), compiled and run at -O0. Files
 * cannot be opened (no_files.c); a run longer than a second is interrupted the way
 * Ctrl-C does it, so `while true {}` ends. Output goes to /dev/null. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include "fuzz.h"
#include "repl.h"
#include "tns_runtime.h"

static void on_alarm(int sig) {
  (void)sig;
  tns_request_interrupt();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
  static int ready;
  if (n > 1 << 12) return -1;   /* every input compiles: keep them short */
  if (!ready) {
    if (!freopen("/dev/null", "w", stdout)) abort();
    signal(SIGALRM, on_alarm);
    ready = 1;
  }
  FILE *in = fmemopen((void *)data, n ? n : 1, "r");
  if (!in) return 0;
  if (!n) fgetc(in);
  struct itimerval t = {.it_interval = {1, 0}, .it_value = {1, 0}};
  setitimer(ITIMER_REAL, &t, NULL);
  fuzz_deny_files(1);
  ReplOptions o = {.interactive = 0, .opt_level = 0};
  repl_run(in, &o);
  fuzz_deny_files(0);
  struct itimerval off = {0};
  setitimer(ITIMER_REAL, &off, NULL);
  fclose(in);
  return 0;
}
