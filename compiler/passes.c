/* passes.c — runs the TIR passes in order, verifying in debug builds and
 * printing TIR after the pass named by --dump-after. */
#include "passes.h"
#include <string.h>

typedef void (*PassFn)(TirProgram *p, const PassOptions *o);

static const struct { const char *name; PassFn fn; } passes[] = {
  {"structure", pass_structure},
  {"attention", pass_attention},
  {"hoist", pass_hoist},
  {"contract", pass_contract},
  {"layout", pass_layout},
  {"outslot", pass_outslot},
};

void passes_run(TirProgram *p, const PassOptions *o) {
  for (size_t i = 0; i < sizeof passes / sizeof *passes; i++) {
    passes[i].fn(p, o);
#ifndef NDEBUG
    if (tir_verify(p, stderr)) TNS_BUG("TIR invalid after a pass");
#endif
    if (o->dump_after && strcmp(o->dump_after, passes[i].name) == 0)
      tir_print(o->dump ? o->dump : stdout, p);
  }
}
