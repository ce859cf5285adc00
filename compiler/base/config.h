/* config.h — where tnsc finds its runtime, headers and standard library:
 * beside the build tree when run from it, else under the install prefix
 * (relative to the tnsc executable, so installs can be moved). */
#ifndef TNS_CONFIG_H
#define TNS_CONFIG_H

typedef struct TnsPaths {
  char include_dir[4200];   /* holds tns_runtime.h */
  char lib_dir[4200];       /* holds libtnsrt.a and libtnsrt.so */
  char stdlib_dir[4200];
} TnsPaths;

void config_paths(TnsPaths *p);
/* Libraries the runtime needs after libtnsrt (BLAS, LAPACKE, libm, ...). */
const char *config_system_libs(void);

#endif
