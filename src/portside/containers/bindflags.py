"""How to make a server listen on every address instead of loopback, by the program it is. Pure.

Inside a container, a service bound to 127.0.0.1 is out of reach of its published port
(traffic arrives on the container's own interface), so doctor's fix names the flag of
the server it sees. The table is keyed by a word of the argv: the program or, for
interpreters, the module or script it runs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

FLAGS: dict[str, str] = {
    "http.server": "python -m http.server --bind 0.0.0.0 PORT",
    "flask": "flask run --host 0.0.0.0",
    "uvicorn": "uvicorn --host 0.0.0.0",
    "gunicorn": "gunicorn --bind 0.0.0.0:PORT",
    "hypercorn": "hypercorn --bind 0.0.0.0:PORT",
    "manage.py": "python manage.py runserver 0.0.0.0:PORT",
    "jupyter": "jupyter --ip 0.0.0.0",
    "jupyter-lab": "jupyter lab --ip 0.0.0.0",
    "jupyter-notebook": "jupyter notebook --ip 0.0.0.0",
    "streamlit": "streamlit run --server.address 0.0.0.0",
    "vite": "vite --host 0.0.0.0",
    "next": "next dev -H 0.0.0.0",
    "webpack": "webpack serve --host 0.0.0.0",
    "webpack-dev-server": "webpack serve --host 0.0.0.0",
    "astro": "astro dev --host 0.0.0.0",
    "ng": "ng serve --host 0.0.0.0",
    "nuxt": "nuxt dev --host 0.0.0.0",
    "http-server": "http-server -a 0.0.0.0",
    "rails": "rails server -b 0.0.0.0",
    "puma": "puma -b tcp://0.0.0.0:PORT",
    "php": "php -S 0.0.0.0:PORT",
    "hugo": "hugo server --bind 0.0.0.0",
    "httpd": "busybox httpd -p 0.0.0.0:PORT (or Listen 0.0.0.0:PORT for Apache)",
    "redis-server": "redis-server --bind 0.0.0.0 (and set a password: --requirepass)",
    "postgres": "postgres -c listen_addresses='*'",
    "mysqld": "mysqld --bind-address=0.0.0.0",
    "mariadbd": "mariadbd --bind-address=0.0.0.0",
    "mongod": "mongod --bind_ip_all",
    "memcached": "memcached -l 0.0.0.0",
}


def bind_all_hint(argv: Sequence[str], port: int) -> str | None:
    """The command line that makes this server listen on every address, when the program is known."""
    for word in argv:
        name = os.path.basename(word)
        for key in (name, name.removesuffix(".py"), name.rsplit(".", 1)[0]):
            if key in FLAGS:
                return FLAGS[key].replace("PORT", str(port))
    return None
