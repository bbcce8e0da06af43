"""The benchmark of keycloak.aurora: make bench (see run.py)."""
