"""SignLink server: the web app, its domains and the signing core."""

import os

os.environ.setdefault("PICCOLO_CONF", "backend.piccolo_conf")
