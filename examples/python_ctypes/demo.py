"""Calls the functions of ops.tns from Python through ctypes and checks them
against numpy. Exits 1 on a mismatch.

    tnsc lib ops.tns -o libops.so
    python3 demo.py ./libops.so
"""
import ctypes
import sys

import numpy as np

path = sys.argv[1] if len(sys.argv) > 1 else "./libops.so"
lib = ctypes.CDLL(path)  # self-contained: the TNS runtime is linked in

i64 = ctypes.c_int64


def array(dtype):
    """An argument type that accepts only C-contiguous arrays of dtype."""
    return np.ctypeslib.ndpointer(dtype=dtype, flags="C_CONTIGUOUS")


# The runtime's error functions are exported by the library too.
lib.tns_last_error.restype = ctypes.c_char_p
lib.tns_status_name.restype = ctypes.c_char_p
lib.tns_status_name.argtypes = [ctypes.c_int]


class TnsError(Exception):
    pass


def check(status):
    """0 is success; anything else is a TNS_ERR_* code with a message."""
    if status != 0:
        name = lib.tns_status_name(status).decode()
        raise TnsError(f"{name}: {lib.tns_last_error().decode()}")


# int attention(int64_t n, int64_t d, int64_t m, int64_t e,
#               const float *Q, const float *K, const float *V, float *out);
lib.attention.argtypes = [i64, i64, i64, i64] + [array(np.float32)] * 4
lib.attention.restype = ctypes.c_int


def attention(Q, K, V):
    Q, K, V = (np.ascontiguousarray(a, dtype=np.float32) for a in (Q, K, V))
    (n, d), (m, e) = Q.shape, V.shape
    out = np.empty((n, e), dtype=np.float32)  # outputs are caller-allocated
    check(lib.attention(n, d, m, e, Q, K, V, out))
    return out


# int column_stats(int64_t n, int64_t d, const double *X,
#                  double *out0, double *out1);
# Plain pointers this time, passed with arr.ctypes.data_as.
dptr = ctypes.POINTER(ctypes.c_double)
lib.column_stats.argtypes = [i64, i64, dptr, dptr, dptr]
lib.column_stats.restype = ctypes.c_int


def column_stats(X):
    X = np.ascontiguousarray(X, dtype=np.float64)
    n, d = X.shape
    mu, var = np.empty(d), np.empty(d)
    check(lib.column_stats(n, d, X.ctypes.data_as(dptr),
                           mu.ctypes.data_as(dptr), var.ctypes.data_as(dptr)))
    return mu, var


# int count_above(int64_t n, const double *x, const uint8_t *keep,
#                 const double *t, int64_t *out);
# bool is one byte (np.bool_); scalars go by pointer, in and out.
lib.count_above.argtypes = [i64, array(np.float64), array(np.bool_),
                            ctypes.POINTER(ctypes.c_double),
                            ctypes.POINTER(ctypes.c_int64)]
lib.count_above.restype = ctypes.c_int


def count_above(x, keep, t):
    x = np.ascontiguousarray(x, dtype=np.float64)
    keep = np.ascontiguousarray(keep, dtype=np.bool_)
    out = ctypes.c_int64()
    check(lib.count_above(x.shape[0], x, keep, ctypes.byref(ctypes.c_double(t)),
                          ctypes.byref(out)))
    return out.value


def main():
    rng = np.random.default_rng(0)
    failures = 0

    def expect(what, ok):
        nonlocal failures
        print(f"{what}: {'ok' if ok else 'MISMATCH'}")
        failures += not ok

    Q = rng.standard_normal((6, 8), dtype=np.float32)
    K = rng.standard_normal((10, 8), dtype=np.float32)
    V = rng.standard_normal((10, 5), dtype=np.float32)
    S = Q.astype(np.float64) @ K.T.astype(np.float64) / np.sqrt(8)
    P = np.exp(S - S.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    expect("attention", np.allclose(attention(Q, K, V), P @ V, rtol=1e-4, atol=1e-5))

    X = rng.standard_normal((50, 4))
    mu, var = column_stats(X)
    expect("column_stats",
           np.allclose(mu, X.mean(axis=0)) and np.allclose(var, X.var(axis=0)))

    x = rng.standard_normal(100)
    keep = rng.random(100) < 0.5
    expect("count_above", count_above(x, keep, 0.25) == int(np.sum(keep & (x > 0.25))))

    # A bad argument comes back as an exception carrying the runtime's message.
    try:
        check(lib.attention(-1, 8, 10, 5, Q, K, V, np.empty((6, 5), np.float32)))
        expect("negative size is refused", False)
    except TnsError as err:
        print(f"  ({err})")
        expect("negative size is refused", "TNS_ERR_ARG" in str(err))

    print("python_ctypes: all results match numpy" if not failures
          else f"python_ctypes: {failures} mismatches")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
