/* config.c — locating the runtime for `tnsc obj/lib/build/config`. */
#include "config.h"
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The folder of the running tnsc, or "" when unknown. */
static void exe_dir(char *out, size_t n) {
  char buf[PATH_MAX];
  ssize_t len = readlink("/proc/self/exe", buf, sizeof buf - 1);
  out[0] = 0;
  if (len <= 0) return;
  buf[len] = 0;
  char *slash = strrchr(buf, '/');
  if (slash) *slash = 0;
  snprintf(out, n, "%s", buf);
}

void config_paths(TnsPaths *p) {
  char dir[PATH_MAX];
  exe_dir(dir, sizeof dir);
  char real_build[PATH_MAX];
  if (!realpath(TNS_BUILD_DIR, real_build)) real_build[0] = 0;
  if (dir[0] && strcmp(dir, real_build) == 0) {
    snprintf(p->include_dir, sizeof p->include_dir, "%s", TNS_SOURCE_DIR "/runtime");
    snprintf(p->lib_dir, sizeof p->lib_dir, "%s", TNS_BUILD_DIR "/runtime");
    snprintf(p->stdlib_dir, sizeof p->stdlib_dir, "%s", TNS_SOURCE_DIR "/stdlib");
    return;
  }
  /* installed: PREFIX/bin/tnsc */
  char *slash = strrchr(dir, '/');
  if (slash) *slash = 0;
  snprintf(p->include_dir, sizeof p->include_dir, "%s/include", dir);
  snprintf(p->lib_dir, sizeof p->lib_dir, "%s/%s", dir, TNS_INSTALL_LIBDIR);
  snprintf(p->stdlib_dir, sizeof p->stdlib_dir, "%s/share/tnsc/stdlib", dir);
}

const char *config_system_libs(void) { return TNS_SYSTEM_LIBS; }
