#!/usr/bin/python3
"""Writes the small NumPy fixtures used by tests/unit/test_rt_npy.c.

Run once with a Python that has numpy (Debian: /usr/bin/python3 after
`apt-get install python3-numpy`); the outputs are committed. numpy 1.24.
"""
import numpy as np
from numpy.lib import format as npf

def save(name, arr, version=None):
    with open(name, 'wb') as f:
        if version is None:
            np.save(f, arr)
        else:
            npf.write_array(f, arr, version=version)

save('rt_f64_2x3.npy', np.arange(6.0).reshape(2, 3) * 0.5)
save('rt_f32_4.npy', np.array([1.0, -2.5, 3.25, 1e-3], dtype=np.float32))
save('rt_i32_2x2x2.npy', (np.arange(8, dtype=np.int32) - 3).reshape(2, 2, 2))
save('rt_i64_scalar.npy', np.array(-7, dtype=np.int64))
save('rt_bool_5.npy', np.array([True, False, True, True, False]))
save('rt_f64_empty.npy', np.zeros((0, 3)))
save('rt_f64_v2.npy', np.array([1.5, -2.0, 4.0]), version=(2, 0))
save('rt_f64_v3.npy', np.array([1.5, -2.0, 4.0]), version=(3, 0))
save('rt_f64_fortran.npy', np.asfortranarray(np.arange(6.0).reshape(2, 3)))
save('rt_u8.npy', np.array([1, 2, 3], dtype=np.uint8))
save('rt_f64_be.npy', np.array([1.0, 2.0], dtype='>f8'))
