# One image for every service; the container's command picks the service
# (node services/<name>/dist/main.js or node edge/dist/main.js).
FROM node:20-slim AS build
WORKDIR /app
COPY . .
RUN npm ci && npx tsc -b && npm prune --omit=dev

FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=node:node /app /app
USER node
