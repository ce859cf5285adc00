/* run.h — `tnsc run`: compile a program (pipeline.h) and run it in the JIT. */
#ifndef TNS_RUN_H
#define TNS_RUN_H
#include "pipeline.h"

/* Exit status: 0 ran, 1 compile error, 2 run-time error (printed as
 * `file:line:col: error: message` with the source line). */
int run_file(Compiler *c, const char *path, const PipelineOptions *o);
/* Prints the last run-time error with its source location. */
void run_report_error(Compiler *c, const char *fallback_path);

#endif
