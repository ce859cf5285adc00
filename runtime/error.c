/* error.c — per-thread error state: status, message, source location. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rt_internal.h"

typedef struct StatusInfo {
  const char *name;
  const char *text;
} StatusInfo;

/* Names and default texts, indexed by status value (see status.def). */
static const StatusInfo status_table[] = {
#define TNS_STATUS(NAME, TEXT) [TNS_##NAME] = {"TNS_" #NAME, TEXT},
#include "status.def"
#undef TNS_STATUS
};

/* The .def file and the ABI enum must list the same codes. */
_Static_assert(sizeof status_table / sizeof status_table[0] ==
                   TNS_STATUS_COUNT,
               "status.def and TnsStatus disagree");

/* Messages are per thread so that parallel callers do not clobber them. */
static _Thread_local char err_msg[1024];
static _Thread_local char err_loc[256];
static _Thread_local int err_code;

/* 1 if code indexes status_table. */
static int status_valid(int code) {
  return code >= 0 && code < TNS_STATUS_COUNT;
}

const char *tns_status_name(int code) {
  return status_valid(code) ? status_table[code].name : "TNS_ERR_UNKNOWN";
}

const char *tns_status_text(int code) {
  return status_valid(code) ? status_table[code].text : "unknown status";
}

const char *tns_last_error(void) { return err_msg; }

const char *tns_last_error_loc(void) { return err_loc; }

int tns_last_status(void) { return err_code; }

void tns_clear_error(void) {
  err_msg[0] = '\0';
  err_loc[0] = '\0';
  err_code = TNS_OK;
}

/* Shared by the tns_error variants: store code, location and message. */
static int set_error(const char *loc, int code, const char *fmt, va_list ap) {
  snprintf(err_loc, sizeof err_loc, "%s", loc ? loc : "");
  if (fmt)
    vsnprintf(err_msg, sizeof err_msg, fmt, ap);
  else
    snprintf(err_msg, sizeof err_msg, "%s", tns_status_text(code));
  err_code = code;
  return code;
}

int tns_error(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  set_error(NULL, code, fmt, ap);
  va_end(ap);
  return code;
}

int tns_error_at(const char *loc, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  set_error(loc, code, fmt, ap);
  va_end(ap);
  return code;
}

int tns_bounds_error(const char *loc, const char *access, int dim,
                     int64_t index, int64_t size) {
  return tns_error_at(loc, TNS_ERR_BOUNDS,
                      "index %lld is out of range for dimension %d of %s "
                      "(size %lld)",
                      (long long)index, dim, access ? access : "tensor",
                      (long long)size);
}

int tns_assert_fail(const char *loc, const char *msg) {
  return tns_error_at(loc, TNS_ERR_ASSERT, "assertion failed: %s",
                      msg ? msg : "");
}

/* Gives the last error a source location when it has none yet (a runtime
 * call that failed inside a statement); returns status unchanged. */
int tns_error_locate(int status, const char *loc) {
  if (status != TNS_OK && err_loc[0] == '\0' && loc)
    snprintf(err_loc, sizeof err_loc, "%s", loc);
  return status;
}

/* Set from a signal handler, read by generated loops. */
static volatile sig_atomic_t interrupt_requested;

void tns_request_interrupt(void) { interrupt_requested = 1; }

int tns_check_interrupt(void) {
  if (!interrupt_requested) return TNS_OK;
  interrupt_requested = 0;
  return tns_error(TNS_ERR_INTERRUPTED, "interrupted");
}
