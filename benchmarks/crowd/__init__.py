"""The crowd of `make prod-rehearsal` (benchmarks/load.py): the workload model
(`model`), the people who make it (`people`: members with their live connection,
visitors of the public pages) and the run that brings them and measures them
(`driver`, in its own gevent-patched process)."""
