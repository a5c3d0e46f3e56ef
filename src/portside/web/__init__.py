"""The dashboard at http(s)://portside.localhost:PROXYPORT/, served by the running proxy (docs/dashboard.md).

auth (who may read and act: pure), token (the per-user secret), view and render (rows and HTML:
pure), live (the one sampler all open pages share), actions (stop, unalias, kill, release), app
(the HTTP side inside the proxy). Imported by the proxy on the first dashboard request only.
"""
