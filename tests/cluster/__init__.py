"""A cluster on this machine's network namespaces (`python -m tests.cluster`, as root):
a balancer, two app hosts, PostgreSQL, PgBouncer and Redis, each a host of its own on
one private bridge, and the clients on another; then scenarios under load (host loss,
partitions, restarts, a rolling deploy), one line each. See tests/cluster/run.py."""
