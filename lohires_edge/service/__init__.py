"""Glue between the node and systemd: readiness and watchdog notifications, and the service installer."""
