# Production image: API + workers (set WORKER_QUEUES, or run `node dist/bin/worker.js <kinds>` for
# worker-only containers). Untested here: the machines this project is built on have no Docker engine.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/api/dashboard/public ./api/dashboard/public
# Built-in scene templates and the preview samples are data, read at run time (tsc copies no JSON).
COPY --from=build /app/templates/builtin ./templates/builtin
COPY --from=build /app/templates/samples ./templates/samples
COPY package.json ./
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s CMD node -e "fetch('http://127.0.0.1:3000/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/bin/serve.js"]
