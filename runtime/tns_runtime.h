/* tns_runtime.h — the public interface of libtnsrt, the TNS runtime.
 *
 * Generated code calls only what is declared here; generated C headers
 * include this file for the status codes and tns_last_error(). It compiles
 * as C99 and as C++.
 *
 * Conventions
 *   - Functions that can fail return an int status: TNS_OK (0) or one of the
 *     TNS_ERR_* codes below. The failing call leaves a message for the
 *     calling thread in tns_last_error() (and, for errors tied to a place in
 *     a .tns source, that place in tns_last_error_loc()). Nothing in the
 *     library calls exit() or abort().
 *   - Tensors are dense, row-major (C order), contiguous. A `dims` array has
 *     `rank` entries; rank 0 is a scalar (one element).
 *   - Element types: f32 = float, f64 = double, i32 = int32_t,
 *     i64 = int64_t, bool = one byte holding 0 or 1.
 *   - Memory returned by the runtime (tns_alloc, tns_npy_load,
 *     tns_format_array) is released with tns_free, never with free().
 *
 * See docs/runtime.md for the full description.
 */
#ifndef TNS_RUNTIME_H
#define TNS_RUNTIME_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define TNS_PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define TNS_PRINTF_LIKE(f, a)
#endif

/* ---- Status codes (values are part of the ABI; texts in status.def) ---- */
typedef enum TnsStatus {
  TNS_OK = 0,
  TNS_ERR_SHAPE = 1,    /* shapes or element types do not match */
  TNS_ERR_OOM = 2,      /* out of memory, or a size that overflows */
  TNS_ERR_ARG = 3,      /* invalid argument (negative size, bad dtype...) */
  TNS_ERR_IO = 4,       /* a file could not be opened, read or written */
  TNS_ERR_FORMAT = 5,   /* a file's contents are malformed or unsupported */
  TNS_ERR_BOUNDS = 6,   /* an index is out of range */
  TNS_ERR_ASSERT = 7,   /* assert(cond, "message") failed */
  TNS_ERR_LINALG = 8,   /* singular, not positive definite, no convergence */
  TNS_ERR_INTERNAL = 9, /* a bug in the runtime */
  TNS_ERR_INTERRUPTED = 10 /* tns_request_interrupt() was called (Ctrl-C) */
} TnsStatus;
#define TNS_STATUS_COUNT 11

/* ---- Element types (values are part of the ABI) ---- */
typedef enum TnsDtype {
  TNS_F32 = 0,
  TNS_F64 = 1,
  TNS_I32 = 2,
  TNS_I64 = 3,
  TNS_BOOL = 4
} TnsDtype;
#define TNS_DTYPE_COUNT 5

/* The largest rank of any tensor: every runtime function accepts up to
 * it, and tnsc rejects a larger rank at compile time. */
#define TNS_MAX_RANK 16

/* ---- Errors (per thread) ---- */

/* Message of the last error on this thread; "" when there is none. */
const char *tns_last_error(void);
/* Source location ("file.tns:3:14") of the last error; "" when none. */
const char *tns_last_error_loc(void);
/* Status code of the last error on this thread; TNS_OK when none. */
int tns_last_status(void);
/* Records code and a printf-style message (NULL fmt: the code's default
 * text), clears the location, and returns code. */
int tns_error(int code, const char *fmt, ...) TNS_PRINTF_LIKE(2, 3);
/* Like tns_error, but also records a source location (may be NULL). */
int tns_error_at(const char *loc, int code, const char *fmt, ...)
    TNS_PRINTF_LIKE(3, 4);
/* Sets the location of the last error when it has none; returns status. */
int tns_error_locate(int status, const char *loc);
/* Forgets the last error of this thread. */
void tns_clear_error(void);
/* "TNS_ERR_SHAPE" for TNS_ERR_SHAPE; "TNS_ERR_UNKNOWN" for other values. */
const char *tns_status_name(int code);
/* Default English text of a status code ("shape mismatch", ...). */
const char *tns_status_text(int code);
/* Out-of-range read: message "index 7 is out of range for dimension 0 of A
 * (size 5)", location loc. Returns TNS_ERR_BOUNDS. */
int tns_bounds_error(const char *loc, const char *access, int dim,
                     int64_t index, int64_t size);
/* assert(cond, msg) failed at loc: message "assertion failed: msg".
 * Returns TNS_ERR_ASSERT. */
int tns_assert_fail(const char *loc, const char *msg);

/* ---- Element types ---- */

/* Bytes per element (4, 8, 4, 8, 1); 0 for an invalid dtype. */
int64_t tns_dtype_size(TnsDtype t);
/* "f32", "f64", "i32", "i64", "bool"; "?" for an invalid dtype. */
const char *tns_dtype_name(TnsDtype t);

/* ---- Memory ---- */

/* 64-byte aligned, zero-filled block; NULL (TNS_ERR_ARG for a negative
 * size, TNS_ERR_OOM otherwise) on failure. 0 bytes gives a unique pointer. */
void *tns_alloc(int64_t bytes);
/* tns_alloc(count * size) with overflow checks; overflowed != 0 reports
 * that count itself overflowed (TNS_ERR_OOM, "too large"). */
void *tns_alloc_elems(int64_t count, int64_t size, int overflowed);
/* The same without zeroing the contents (for a result whose every element
 * the caller writes next). */
void *tns_alloc_elems_uninit(int64_t count, int64_t size, int overflowed);
/* Gives back to the system the large freed blocks the runtime keeps for
 * reuse (at most TNS_MEMORY_CACHE MiB, default 1024 or an eighth of the
 * machine's memory; 0 keeps none). */
void tns_release_memory(void);
/* Frees a block from tns_alloc (and everything the runtime hands out);
 * NULL is ignored. */
void tns_free(void *p);
/* *out = a * b for sizes a, b >= 0; TNS_ERR_ARG if one is negative,
 * TNS_ERR_OOM if the product overflows int64_t. */
int tns_mul_sizes(int64_t a, int64_t b, int64_t *out);
/* *out = product of dims (1 for rank 0), checked like tns_mul_sizes. */
int tns_shape_count(int rank, const int64_t *dims, int64_t *out);

/* Bump allocator for per-call temporaries: allocations are 64-byte
 * aligned and zero-filled, freed all at once by reset or destroy. */
typedef struct TnsArena TnsArena;
/* New arena whose first block holds block_bytes (0: a default size). */
TnsArena *tns_arena_create(int64_t block_bytes);
/* Block of bytes from the arena; NULL with TNS_ERR_OOM/ARG on failure. */
void *tns_arena_alloc(TnsArena *a, int64_t bytes);
/* Frees every allocation at once; keeps (one merged) block for reuse. */
void tns_arena_reset(TnsArena *a);
/* Releases the arena and all its memory; NULL is ignored. */
void tns_arena_destroy(TnsArena *a);
/* Bytes handed out since the last reset (including alignment padding). */
int64_t tns_arena_used(const TnsArena *a);

/* ---- Arrays and NumPy .npy files ---- */

typedef struct TnsArray {
  TnsDtype dtype;
  int rank;
  int64_t dims[TNS_MAX_RANK];
  void *data; /* tns_alloc'd, row-major; free with tns_array_free */
} TnsArray;

/* Reads a .npy file (format 1.0, 2.0 or 3.0; '<f4' '<f8' '<i4' '<i8'
 * '|b1'; C order). On failure *out is left empty (data NULL) and the
 * message names the file: TNS_ERR_IO (cannot open/read) or
 * TNS_ERR_FORMAT (malformed or unsupported contents). */
int tns_npy_load(const char *path, TnsArray *out);
/* Reads only the header of a .npy file: dtype, rank and dims, data NULL
 * (the compiler types an unannotated load from it). Errors as npy_load. */
int tns_npy_peek(const char *path, TnsArray *out);
/* Writes a .npy file (format 1.0, exactly as numpy.save would). */
int tns_npy_save(const char *path, TnsDtype dtype, int rank,
                 const int64_t *dims, const void *data);
/* Checks an array against an annotation: dtype, rank, and each of
 * want_dims (-1 = any; want_dims may be NULL = any shape of that rank).
 * TNS_ERR_SHAPE with a message starting with `what` on a mismatch, e.g.
 * "a.npy: holds f32 but the annotation says f64". */
int tns_array_check(const TnsArray *a, TnsDtype want, int rank,
                    const int64_t *want_dims, const char *what);
/* Frees a->data and empties *a; NULL is ignored. */
void tns_array_free(TnsArray *a);

/* ---- FROSTT coordinate text ---- */

/* Adds every entry of a FROSTT file ("i1 ... ik value" per line, 1-based,
 * '#' comments) into out, a caller-zeroed dense row-major f64 buffer of
 * shape dims. Errors name "path:LINE:". */
int tns_frostt_load(const char *path, int rank, const int64_t *dims,
                    double *out);
/* 1 if the first few KB of text look like FROSTT data (every non-comment,
 * non-blank line has the same number >= 2 of whitespace-separated numbers,
 * all but the last integers), else 0. */
int tns_looks_like_frostt(const char *text, size_t len);

/* ---- Printing (like NumPy's print(array) with default printoptions) ---- */

/* Writes the array like print(numpy_array), followed by a newline.
 * Rank 0 prints like tns_print_scalar. */
int tns_print_array(FILE *f, TnsDtype dtype, int rank, const int64_t *dims,
                    const void *data);
/* Writes one value like print(numpy.float64(x)) etc., plus a newline. */
int tns_print_scalar(FILE *f, TnsDtype dtype, const void *value);
/* The text tns_print_array would write, without the final newline,
 * NUL-terminated; free with tns_free. NULL on failure. */
char *tns_format_array(TnsDtype dtype, int rank, const int64_t *dims,
                       const void *data);
/* The text of one value (no newline) into buf; TNS_ERR_ARG if it does not
 * fit (40 bytes always suffice). */
int tns_format_scalar(char *buf, size_t size, TnsDtype dtype,
                      const void *value);

/* ---- Random numbers (counter-based: element k depends only on seed, k) */

/* out[k] uniform in [0, 1) for k < n; dtype TNS_F32 or TNS_F64. */
int tns_rand_fill(TnsDtype dtype, int64_t n, uint64_t seed, void *out);
/* out[k] standard normal for k < n; dtype TNS_F32 or TNS_F64. */
int tns_randn_fill(TnsDtype dtype, int64_t n, uint64_t seed, void *out);
/* Element k of the f64 streams above (for generated elementwise code). */
double tns_rand_f64(uint64_t seed, uint64_t k);
double tns_randn_f64(uint64_t seed, uint64_t k);
/* Element k of the f32 streams. */
float tns_rand_f32(uint64_t seed, uint64_t k);
float tns_randn_f32(uint64_t seed, uint64_t k);

/* ---- Dense linear algebra (LAPACKE; dtype TNS_F32 or TNS_F64) ----
 * Inputs are row-major and never modified; outputs are caller-allocated,
 * row-major, and must not overlap the inputs. */

/* X (n x k) solves A X = B for A n x n, B n x k. Singular A:
 * TNS_ERR_LINALG "solve: matrix is singular". */
int tns_solve(TnsDtype dtype, int64_t n, int64_t k, const void *A,
              const void *B, void *X);
/* Lower-triangular L (n x n, zeros above) with A = L L^T. */
int tns_cholesky(TnsDtype dtype, int64_t n, const void *A, void *L);
/* Symmetric A (lower triangle used): eigenvalues w (n, ascending) and
 * eigenvectors as the columns of V (n x n), like numpy.linalg.eigh. */
int tns_eigh(TnsDtype dtype, int64_t n, const void *A, void *w, void *V);
/* A (m x n) = U diag(S) Vt with kk = min(m, n): U m x kk, S kk
 * (descending), Vt kk x n (numpy.linalg.svd, full_matrices=False). */
int tns_svd(TnsDtype dtype, int64_t m, int64_t n, const void *A, void *U,
            void *S, void *Vt);
/* A (m x n) = Q R, kk = min(m, n): Q m x kk with orthonormal columns,
 * R kk x n upper triangular (numpy.linalg.qr, mode='reduced'). */
int tns_qr(TnsDtype dtype, int64_t m, int64_t n, const void *A, void *Q,
           void *R);

/* Batches (numpy.linalg's stacks): `batch` problems stored one after
 * another, each of the sizes above, run on the thread pool. A failure
 * names the matrix: "solve: matrix is singular (matrix 3 of the batch,
 * counting from 0)". tns_solve, tns_cholesky and tns_eigh are batch 1. */
int tns_solve_batch(TnsDtype dtype, int64_t batch, int64_t n, int64_t k,
                    const void *A, const void *B, void *X);
int tns_cholesky_batch(TnsDtype dtype, int64_t batch, int64_t n,
                       const void *A, void *L);
int tns_eigh_batch(TnsDtype dtype, int64_t batch, int64_t n, const void *A,
                   void *w, void *V);
/* X = A^-1 for each n x n A. Singular: "inv: matrix is singular". */
int tns_inv(TnsDtype dtype, int64_t batch, int64_t n, const void *A,
            void *X);
/* det[b] of each A (numpy's sign * exp(logabsdet); 0 when singular). */
int tns_det(TnsDtype dtype, int64_t batch, int64_t n, const void *A,
            void *det);
/* sign[b] (-1, 0 or 1) and logabsdet[b] = log|det A| (-inf when
 * singular), like numpy.linalg.slogdet. */
int tns_slogdet(TnsDtype dtype, int64_t batch, int64_t n, const void *A,
                void *sign, void *logabsdet);
/* logdet[b] = log det A for symmetric positive-definite A, through
 * Cholesky (lower triangle read). Otherwise TNS_ERR_LINALG "logdet:
 * matrix is not positive definite (use slogdet for a general matrix)". */
int tns_logdet(TnsDtype dtype, int64_t batch, int64_t n, const void *A,
               void *logdet);

/* ---- Matrix products (pairwise steps of contractions) ---- */

/* For b < batch: C[b] = alpha op(A[b]) op(B[b]) + beta C[b], row-major,
 * op(A) m x k (A stored k x m when ta), op(B) k x n (n x k when tb),
 * matrices of one batch packed one after another. f32 or f64. */
int tns_gemm(TnsDtype dtype, int64_t batch, int ta, int tb, int64_t m,
             int64_t n, int64_t k, double alpha, const void *A,
             const void *B, double beta, void *C);
/* The same where A (or B) may be one matrix shared by every batch element
 * (a_batched / b_batched = 0). */
int tns_gemm_batched(TnsDtype dtype, int64_t batch, int ta, int tb,
                     int64_t m, int64_t n, int64_t k, double alpha,
                     const void *A, int a_batched, const void *B,
                     int b_batched, double beta, void *C);

/* dst = src with axes reordered: dst's axis k is src's axis perm[k];
 * elements of esize bytes, row-major, rank 2..16. */
int tns_permute(int64_t esize, int rank, const int64_t *src_dims,
                const int *perm, const void *src, void *dst);

/* ---- Threads ---- */

/* Fused softmax attention (runtime/attention.c), f32 or f64:
 * o[b, i, x] = sum_j softmax_j(scale * q[b, i, :] . k[b, j, :] + bias[b, i, j]) v[b, j, x]
 * over the keys j allowed by every condition a*i + b*j + c >= 0 (the
 * others are -inf: a row with none allowed gives NaN, as the unfused
 * softmax does). Streaming: no n x m scores. desc holds, at the offsets
 * below, the batch extents, n, m, d, e, then per operand (q, k, v, o,
 * bias) and role (i, j, c, x, batch 0..3) the stride in elements (0 where
 * the operand has no such index), then the conditions. */
enum {
  TNS_ATTN_NBATCH = 0, TNS_ATTN_BATCH = 1, TNS_ATTN_N = 5, TNS_ATTN_M = 6, TNS_ATTN_D = 7,
  TNS_ATTN_E = 8, TNS_ATTN_STRIDES = 9, TNS_ATTN_NCOND = 49, TNS_ATTN_CONDS = 50,
  /* per operand and role: a divisor (grouped-query attention reads batch
     role r at r / div; 0 or 1: at r) and the operand's size there */
  TNS_ATTN_DIV = 74, TNS_ATTN_LIM = 114,
  /* two key-padding bounds j < pad[b..] + off (cmp 0), <= (1), > (2),
     >= (3): pointer, dtype, cmp, 4 batch strides, off (f64 bits) each
     (pointer 0: none) */
  TNS_ATTN_PAD = 154,
  /* softcap: on, c (the bits of an f64): s = c * tanh(s) */
  TNS_ATTN_CAP = 170,
  /* ALiBi: on, aa, ab, ak, slope pointer (0: the scalar), scalar slope
     (f64 bits), 4 batch strides of the slope, sign: s += sign * slope *
     (aa*i + ab*j + ak) */
  TNS_ATTN_ALIBI = 172,
  /* row log-sum-exp: pointer (0: none), stride of i, 4 batch strides */
  TNS_ATTN_LSE = 183,
  /* order R >= 2: R, then per further key r (up to 3): K pointer, V
     pointer, its key count, K strides (j, c, 4 batch), V strides (j, x,
     4 batch): o = sum(j1..jR: softmax(scale * sum(c: q k1 .. kR)) v1 .. vR) */
  TNS_ATTN_ORDER = 189,
  /* order R >= 2, keys 2..4 (r = 0..2 below): per condition t the keys'
     coefficients at CONDX + 3t + r (sum(keys: b*j) + a*i + c >= 0, b of
     key 1 in CONDS); the bias's stride of each key at BIASX + r; per
     further key the divisors and limits of grouped batch reads, DIVX + 16r:
     K divisors (4 batch roles), K limits (4), V divisors (4), V limits (4);
     the key (0..R-1) each padding bound limits at PADKEY + t; ALiBi's
     coefficient of each key at ALIBIX + r */
  TNS_ATTN_CONDX = 235, TNS_ATTN_BIASX = 259, TNS_ATTN_DIVX = 262, TNS_ATTN_PADKEY = 310,
  TNS_ATTN_ALIBIX = 312,
  /* order R >= 2: the keys in the order of the values' nested sums,
     innermost first (sum(k: sum(j: p v1) v2): 0, 1) */
  TNS_ATTN_NEST = 315,
  TNS_ATTN_DESC = 319
};
int tns_attention(TnsDtype dtype, const int64_t *desc, const void *q, const void *k,
                  const void *v, const void *bias, void *o, double scale);

/* One piece of a parallel loop: iterations lo..hi-1; returns a status. */
typedef int (*TnsKernel)(void *env, int64_t lo, int64_t hi);
/* Threads of the pool: TNS_NUM_THREADS, default the online cores. */
int tns_num_threads(void);
/* Runs fn over 0..n-1 on the pool (the caller taking part); work_per_iter
 * (innermost iterations per index) keeps small loops on one thread. The
 * first failing piece's status and message are the result. */
int tns_parallel_for(int64_t n, int64_t work_per_iter, TnsKernel fn,
                     void *env);

/* ---- Exported functions and executables ---- */

/* Checks a size argument of an exported function: TNS_ERR_ARG when it is
 * negative ("attention: size 'n' is negative (-3)"). */
int tns_arg_size(const char *func, const char *name, int64_t value);
/* Checks a tensor argument: dimensions non-negative, element count (and
 * its byte size) fits, data non-NULL when it holds elements. overflowed:
 * the caller's computation of a dimension (n*q) overflowed int64_t. */
int tns_arg_tensor(const char *func, const char *name, int rank,
                   const int64_t *dims, const void *data, int overflowed);
/* Runs a program's top-level statements (tnsc build): flushes stdout,
 * prints "file.tns:3:14: error: message" on failure; returns the process
 * exit status (0, or 2 on a run-time error). */
int tns_run_main(int (*entry)(void));

/* ---- Interrupts ---- */

/* Asks running TNS code to stop at its next loop iteration with
 * TNS_ERR_INTERRUPTED; async-signal-safe (a SIGINT handler may call it). */
void tns_request_interrupt(void);
/* Called by generated loops: TNS_ERR_INTERRUPTED (and clears the request)
 * when one is pending, else TNS_OK. */
int tns_check_interrupt(void);

/* ---- Misc ---- */

/* Monotonic clock in seconds (for time() in programs). */
double tns_time(void);

#ifdef __cplusplus
}
#endif

#endif /* TNS_RUNTIME_H */
