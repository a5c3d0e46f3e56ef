"""HTTPS for NAME.localhost: the name-constrained local CA, per-host leaves chosen by SNI, trust stores."""
