"""Test-suite settings.

The suite runs on two CPU cores, and several tests start a second process
(two fills at once, a killed fill, Ray workers). With torch's default of one
OpenMP thread per core, two processes on two cores oversubscribe them, and
OpenMP's spin-waiting makes small models 10-100× slower. One thread per
process keeps every test fast; it changes no result that a test asserts.
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
