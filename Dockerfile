# The hub server image: no torch, only the server extra.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY hub hub
COPY web web
COPY sdk sdk
COPY migrations migrations
RUN pip install --no-cache-dir -c constraints.txt '.[server]'
ENV HUB_DATA_DIR=/data
EXPOSE 8000
CMD ["hub", "serve", "--host", "0.0.0.0", "--port", "8000"]
