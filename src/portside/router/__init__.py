"""The `.localhost` reverse proxy: NAME.localhost -> the port `portside run` gave NAME."""
