# syntax=docker/dockerfile:1
# SignLink: one image that migrates, seeds and serves on :8000.
#   docker build -t signlink .
#   docker run -p 8000:8000 -v signlink-data:/var/lib/signlink signlink

ARG PYTHON_IMAGE=python:3.11-slim

# ---------- build: resolve and install the Python dependencies into a venv ----------
FROM ${PYTHON_IMAGE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
# dependencies first, against empty packages, so this layer is reused when only code changes
COPY pyproject.toml ./
RUN pip install --upgrade pip setuptools wheel \
 && mkdir -p backend ml \
 && touch backend/__init__.py ml/__init__.py \
 && pip install . \
 && rm -rf backend ml build *.egg-info
COPY backend ./backend
COPY ml ./ml
COPY pwa ./pwa
RUN pip install --no-deps --force-reinstall .

# ---------- runtime ----------
FROM ${PYTHON_IMAGE} AS runtime

# WeasyPrint's system libraries, CJK fonts for PDFs, poppler-utils for PDF tooling
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
        libpango-1.0-0 \
        libpangoft2-1.0-0 \
        libharfbuzz0b \
        libharfbuzz-subset0 \
        libfontconfig1 \
        fonts-noto-cjk \
        poppler-utils \
 && rm -rf /var/lib/apt/lists/*

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SIGNLINK_DATA_DIR=/var/lib/signlink

RUN groupadd --system signlink \
 && useradd --system --gid signlink --create-home --home-dir /home/signlink \
        --shell /usr/sbin/nologin signlink \
 && mkdir -p /var/lib/signlink \
 && chown signlink:signlink /var/lib/signlink

COPY --from=build /opt/venv /opt/venv

WORKDIR /app
# the source tree too (root-owned, read-only for the app): templates and static files live
# in pwa/ next to backend/, and `python -m` / uvicorn import from the working directory
COPY pyproject.toml ./
COPY backend ./backend
COPY ml ./ml
COPY pwa ./pwa
# code that writes to a relative var/ lands in the data volume as well
RUN ln -s /var/lib/signlink /app/var

USER signlink
# Compact CJK font copies for fast contract rendering, built once into ~/.cache/signlink.
RUN python -c "from backend.documents import fonts; fonts.build_compact_fonts()"
VOLUME ["/var/lib/signlink"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=40s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]

CMD ["sh", "-c", "python -m backend.manage migrate && python -m backend.manage seed && exec uvicorn backend.app:create_app --factory --host 0.0.0.0 --port 8000"]
