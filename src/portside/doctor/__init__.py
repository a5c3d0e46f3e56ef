"""Why a connection or a bind fails: evidence gathered by the adapters, judged by pure rules into findings."""
