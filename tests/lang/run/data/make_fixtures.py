#!/usr/bin/python3
"""Writes the data fixtures of tests/lang/run (run from anywhere; needs numpy,
Debian: apt-get install python3-numpy; made with numpy 1.24.2)."""
import os

import numpy as np
from numpy.lib import format as npformat

os.chdir(os.path.dirname(os.path.abspath(__file__)))

# Arrays written by numpy itself, one per element type.
np.save("np_f64.npy", np.array([[1.5, -2.0, 3.25], [0.1, 1e-3, 1e6]]))
np.save("np_f32.npy", np.array([[0.1, 0.2], [0.3, 0.4], [-1.0, 2.5]], dtype=np.float32))
np.save("np_i32.npy", np.array([[1, -2, 3, 4], [5, 6, -7, 8]], dtype=np.int32))
np.save("np_i64.npy", np.array([10000000000, -1, 7], dtype=np.int64))
np.save("np_bool.npy", np.array([[True, False], [False, True]]))
np.save("np_scalar.npy", np.float64(2.75))                      # rank 0
np.save("np_vec_f64.npy", np.linspace(0.0, 1.0, 5))
# format version 2.0 header
with open("np_v2.npy", "wb") as f:
    npformat.write_array(f, np.arange(6.0).reshape(2, 3), version=(2, 0))
# Fortran order: a 2x3 matrix stored column-major; the runtime rejects it
np.save("np_fortran.npy", np.asfortranarray(np.arange(6.0).reshape(2, 3)))
# big-endian data: rejected with a hint
np.save("np_big_endian.npy", np.arange(3.0).astype(">f8"))
# a 3x2 f64 matrix, whose rows do not match the 2x3 ones
np.save("np_3x2.npy", np.arange(6.0).reshape(3, 2) - 2.0)
# a 2x4 f64 matrix, for an annotation f64[n, 3] that fails at run time
np.save("np_2x4.npy", np.arange(8.0).reshape(2, 4))
# uint8: an unsupported element type
np.save("np_u8.npy", np.arange(4, dtype=np.uint8))

# FROSTT coordinate text (1-based): a 3x4x2 tensor with a repeated
# coordinate that accumulates, a comment, a blank line and a tab.
with open("small_frostt.tns", "w") as f:
    f.write("# a small FROSTT tensor: i j k value\n"
            "1 1 1 1.5\n"
            "2 3 1 -2.0\n"
            "3 4 2 4.25\n"
            "\n"
            "1 2 2\t0.5\n"
            "2 3 1 1.0\n"
            "3 1 2 1e2\n")
# a matrix in FROSTT form
with open("matrix_frostt.tns", "w") as f:
    f.write("1 1 2.0\n2 2 3.0\n3 3 4.0\n1 3 1.0\n")
# a FROSTT file with a coordinate beyond the size
with open("bad_frostt.tns", "w") as f:
    f.write("1 1 1.0\n4 1 2.0\n")
# square and factored shapes for annotations that use a size name twice
# (f64[n, n], f64[n, 2*n]) or a product with one new factor (f64[n*5])
np.save("np_sq3.npy", np.arange(9.0).reshape(3, 3) + np.eye(3) * 10)
np.save("np_3x6.npy", np.arange(18.0).reshape(3, 6))
np.save("np_v10.npy", np.arange(10.0))
np.save("np_v7.npy", np.arange(7.0))
# a stack of 4 well-conditioned 3x3 matrices and one right-hand side each
np.save("stack3.npy", np.arange(36.0).reshape(4, 3, 3) % 7 + 5 * np.eye(3))
np.save("rhs3.npy", np.arange(12.0).reshape(4, 3) - 5)
