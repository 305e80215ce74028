# redirector: slim image, non-root, gunicorn (through `redirector serve`).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY redirector ./redirector
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    REDIRECTOR_PROGRAMS=/app/config/programs.toml \
    REDIRECTOR_FRAUD=/app/config/fraud.toml \
    REDIRECTOR_LANDING=/app/config/landing.toml
RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home redirector
WORKDIR /app
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
COPY config ./config
# The click spool (docs/durability.md): a new named volume mounted here takes
# this directory's owner, so the app can write to it without a root helper.
RUN mkdir -p /var/lib/redirector/spool && chown -R redirector:redirector /var/lib/redirector \
    && chmod 0700 /var/lib/redirector/spool
USER redirector
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status != 200)"]
CMD ["redirector", "serve", "--host", "0.0.0.0", "--port", "8000"]
