"""The node on loopback with real peers: synthetic MR series, the node as a subprocess, dcmtk, Orthanc, a
recording pynetdicom destination, and the load and SIGKILL scenarios built from them.

It lives here, not in tests/, because benchmarks/reliability.py runs the same scenarios longer (benchmarks
never import tests); the tests import it for their small, asserted runs.
"""
