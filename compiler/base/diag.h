/* diag.h — source files, spans and diagnostics.
 * Every token and AST node carries a Span. Errors go to a DiagSink, never
 * to exit(): the REPL survives any mistake. Message texts live in diag.def. */
#ifndef TNS_DIAG_H
#define TNS_DIAG_H
#include <stdarg.h>
#include <stdio.h>
#include "arena.h"

typedef struct Source {
  const char *path;      /* as given, used in messages */
  const char *text;      /* NUL-terminated */
  int len;
} Source;

typedef struct Span {
  const Source *src;
  int off, len;          /* byte offset and length */
  int line, col;         /* 1-based */
} Span;

typedef enum DiagId {
#define DIAG(id, level, text) id,
#include "diag.def"
#undef DIAG
  DIAG_COUNT
} DiagId;

typedef enum DiagLevel { DL_ERROR, DL_WARNING, DL_NOTE } DiagLevel;

typedef struct DiagSink {
  FILE *out;
  int color;             /* ANSI colour: only when out is a terminal */
  int nerrors, nwarnings;
  int max_errors;        /* stop printing after this many (0: no limit) */
} DiagSink;

void diag_sink_init(DiagSink *s, FILE *out);
void diag_report(DiagSink *s, Span sp, DiagId id, ...);
void diag_vreport(DiagSink *s, Span sp, DiagId id, va_list ap);
DiagLevel diag_level(DiagId id);
const char *diag_text(DiagId id);
Span span_join(Span a, Span b);
Span span_none(void);

/* Internal compiler bugs are not user errors: report and abort. */
_Noreturn void tns_bug(const char *file, int line, const char *msg);
#define TNS_BUG(msg) tns_bug(__FILE__, __LINE__, msg)

#endif
