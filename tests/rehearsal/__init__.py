"""The production rehearsal: the deployment of `deploy/` run on loopback (topology.py),
and the fault tests against it."""
