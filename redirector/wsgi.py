"""The WSGI entry point for servers run by hand: ``gunicorn redirector.wsgi:app``.

Settings come from the environment, as for ``redirector serve``.
"""

from .app import create_app

app = create_app()
