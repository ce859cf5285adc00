/* linalg_impl.h — the body of linalg.c for one element type. Included
 * twice by linalg.c with REAL (float/double), SUF (f32/f64) and LAPACK(x)
 * (LAPACKE_s##x / LAPACKE_d##x) defined. Not a public header. */

#define LA_CAT2(a, b) a##_##b
#define LA_CAT(a, b) LA_CAT2(a, b)
#define FN(name) LA_CAT(name, SUF)

/* A fresh copy of n elements (LAPACK overwrites its inputs). */
static REAL *FN(copy)(const void *src, int64_t n) {
  REAL *p = tns_alloc(n * (int64_t)sizeof(REAL));
  if (p)
    memcpy(p, src, (size_t)n * sizeof(REAL));
  return p;
}

/* NaN or infinity in an input: report it instead of letting LAPACK fail. */
static int FN(check_finite)(const char *op, const char *name,
                            const void *src, int64_t n) {
  const REAL *a = src;
  for (int64_t i = 0; i < n; i++)
    if (!isfinite(a[i]))
      return tns_error(TNS_ERR_LINALG, "%s: %s contains NaN or infinity", op,
                       name);
  return TNS_OK;
}

/* X = A^-1 B through LU with partial pivoting (gesv). */
static int FN(solve)(int64_t n, int64_t k, const void *A, const void *B,
                     void *X) {
  if (FN(check_finite)("solve", "A", A, n * n) ||
      FN(check_finite)("solve", "B", B, n * k))
    return TNS_ERR_LINALG;
  if (n == 0 || k == 0)
    return TNS_OK;
  REAL *a = FN(copy)(A, n * n);
  lapack_int *piv = tns_alloc(n * (int64_t)sizeof(lapack_int));
  int st = TNS_ERR_OOM;
  if (a && piv) {
    memcpy(X, B, (size_t)(n * k) * sizeof(REAL));
    lapack_int info = LAPACK(gesv)(LAPACK_ROW_MAJOR, (lapack_int)n,
                                   (lapack_int)k, a, (lapack_int)n, piv, X,
                                   (lapack_int)k);
    st = la_status("solve", info, "solve: matrix is singular");
  }
  tns_free(a);
  tns_free(piv);
  return st;
}

/* Lower Cholesky factor (potrf), zeros above the diagonal. */
static int FN(cholesky)(int64_t n, const void *A, void *Lv) {
  REAL *L = Lv;
  if (FN(check_finite)("cholesky", "the matrix", A, n * n))
    return TNS_ERR_LINALG;
  if (n == 0)
    return TNS_OK;
  memcpy(L, A, (size_t)(n * n) * sizeof(REAL));
  lapack_int info = LAPACK(potrf)(LAPACK_ROW_MAJOR, 'L', (lapack_int)n, L,
                                  (lapack_int)n);
  int st = la_status("cholesky", info,
                     "cholesky: matrix is not positive definite");
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = i + 1; j < n; j++)
      L[i * n + j] = 0;
  return st;
}

/* Symmetric eigendecomposition (syevd, lower triangle), ascending. */
static int FN(eigh)(int64_t n, const void *A, void *w, void *V) {
  if (FN(check_finite)("eigh", "the matrix", A, n * n))
    return TNS_ERR_LINALG;
  if (n == 0)
    return TNS_OK;
  memcpy(V, A, (size_t)(n * n) * sizeof(REAL));
  lapack_int info = LAPACK(syevd)(LAPACK_ROW_MAJOR, 'V', 'L', (lapack_int)n,
                                  V, (lapack_int)n, w);
  return la_status("eigh", info, "eigh: eigenvalue computation did not "
                   "converge");
}

/* Thin SVD by divide and conquer (gesdd 'S'), as numpy does. */
static int FN(svd)(int64_t m, int64_t n, const void *A, void *U, void *S,
                   void *Vt) {
  int64_t kk = m < n ? m : n;
  if (FN(check_finite)("svd", "the matrix", A, m * n))
    return TNS_ERR_LINALG;
  if (kk == 0)
    return TNS_OK;
  REAL *a = FN(copy)(A, m * n);
  if (!a)
    return TNS_ERR_OOM;
  lapack_int info = LAPACK(gesdd)(LAPACK_ROW_MAJOR, 'S', (lapack_int)m,
                                  (lapack_int)n, a, (lapack_int)n, S, U,
                                  (lapack_int)kk, Vt, (lapack_int)n);
  tns_free(a);
  return la_status("svd", info, "svd: did not converge");
}

/* Householder QR (geqrf), R from the upper triangle, Q by orgqr. */
static int FN(qr)(int64_t m, int64_t n, const void *A, void *Qv, void *Rv) {
  REAL *Q = Qv, *R = Rv;
  int64_t kk = m < n ? m : n;
  if (FN(check_finite)("qr", "the matrix", A, m * n))
    return TNS_ERR_LINALG;
  if (kk == 0)
    return TNS_OK;
  REAL *a = FN(copy)(A, m * n), *tau = tns_alloc(kk * (int64_t)sizeof(REAL));
  int st = TNS_ERR_OOM;
  if (a && tau) {
    lapack_int info = LAPACK(geqrf)(LAPACK_ROW_MAJOR, (lapack_int)m,
                                    (lapack_int)n, a, (lapack_int)n, tau);
    st = la_status("qr", info, "qr: factorization failed");
  }
  if (!st) {
    for (int64_t i = 0; i < kk; i++)
      for (int64_t j = 0; j < n; j++)
        R[i * n + j] = j >= i ? a[i * n + j] : 0;
    for (int64_t i = 0; i < m; i++)
      memcpy(Q + i * kk, a + i * n, (size_t)kk * sizeof(REAL));
    lapack_int info = LAPACK(orgqr)(LAPACK_ROW_MAJOR, (lapack_int)m,
                                    (lapack_int)kk, (lapack_int)kk, Q,
                                    (lapack_int)kk, tau);
    st = la_status("qr", info, "qr: forming Q failed");
  }
  tns_free(a);
  tns_free(tau);
  return st;
}

/* A^-1 by solving A X = I (gesv), as numpy.linalg.inv does. */
static int FN(inv)(int64_t n, const void *A, void *Xv) {
  REAL *X = Xv;
  if (FN(check_finite)("inv", "the matrix", A, n * n))
    return TNS_ERR_LINALG;
  if (n == 0)
    return TNS_OK;
  REAL *a = FN(copy)(A, n * n);
  lapack_int *piv = tns_alloc(n * (int64_t)sizeof(lapack_int));
  int st = TNS_ERR_OOM;
  if (a && piv) {
    for (int64_t i = 0; i < n * n; i++)
      X[i] = i % (n + 1) == 0;
    lapack_int info = LAPACK(gesv)(LAPACK_ROW_MAJOR, (lapack_int)n,
                                   (lapack_int)n, a, (lapack_int)n, piv, X,
                                   (lapack_int)n);
    st = la_status("inv", info, "inv: matrix is singular");
  }
  tns_free(a);
  tns_free(piv);
  return st;
}

/* sign and log|det| from an LU factorisation (getrf), like
 * numpy.linalg.slogdet: a singular matrix gives sign 0 and -inf. The log
 * is summed in the element type, as numpy does. */
static int FN(slogdet)(const char *op, int64_t n, const void *A, REAL *sign,
                       REAL *logabs) {
  if (FN(check_finite)(op, "the matrix", A, n * n))
    return TNS_ERR_LINALG;
  *sign = 1;
  *logabs = 0;
  if (n == 0)
    return TNS_OK;
  REAL *a = FN(copy)(A, n * n);
  lapack_int *piv = tns_alloc(n * (int64_t)sizeof(lapack_int));
  int st = TNS_ERR_OOM;
  if (a && piv) {
    lapack_int info = LAPACK(getrf)(LAPACK_ROW_MAJOR, (lapack_int)n,
                                    (lapack_int)n, a, (lapack_int)n, piv);
    st = info > 0 ? TNS_OK : la_status(op, info, "");
    if (info > 0) {
      *sign = 0;
      *logabs = -INFINITY;
    }
    for (int64_t i = 0; !st && info == 0 && i < n; i++) {
      REAL u = a[i * n + i];
      if ((piv[i] != i + 1) != (u < 0))
        *sign = -*sign;
      *logabs += log(fabs(u));
    }
  }
  tns_free(a);
  tns_free(piv);
  return st;
}

/* sign and log|det| into the two outputs. */
static int FN(slogdet2)(int64_t n, const void *A, void *sign, void *logabs) {
  return FN(slogdet)("slogdet", n, A, sign, logabs);
}

/* det = sign * exp(log|det|), numpy's formula (no overflow on the way). */
static int FN(det)(int64_t n, const void *A, void *d) {
  REAL sign, logabs;
  int st = FN(slogdet)("det", n, A, &sign, &logabs);
  if (!st)
    *(REAL *)d = sign * (REAL)exp(logabs);
  return st;
}

/* log det of a symmetric positive-definite matrix: twice the sum of the
 * logs of its Cholesky factor's diagonal (lower triangle read). */
static int FN(logdet)(int64_t n, const void *A, void *out) {
  if (FN(check_finite)("logdet", "the matrix", A, n * n))
    return TNS_ERR_LINALG;
  REAL s = 0;
  if (n > 0) {
    REAL *L = FN(copy)(A, n * n);
    if (!L)
      return TNS_ERR_OOM;
    lapack_int info = LAPACK(potrf)(LAPACK_ROW_MAJOR, 'L', (lapack_int)n, L,
                                    (lapack_int)n);
    for (int64_t i = 0; info == 0 && i < n; i++)
      s += log(L[i * n + i]);
    tns_free(L);
    int st = la_status("logdet", info, "logdet: matrix is not positive "
                       "definite (use slogdet for a general matrix)");
    if (st)
      return st;
  }
  *(REAL *)out = 2 * s;
  return TNS_OK;
}

static const LinalgOps FN(ops) = {FN(solve), FN(cholesky), FN(eigh),
                                  FN(svd),   FN(qr),       FN(inv),
                                  FN(det),   FN(slogdet2), FN(logdet)};

#undef FN
#undef LA_CAT
#undef LA_CAT2
