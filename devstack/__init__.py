"""Development stack: native servers, probes and the Grafana stand-in.

Used by the tests and by `make demo`; never installed into the production images.
"""
