# syntax=docker/dockerfile:1
#
# One image for every process of shopmesh; the container's command picks the process, with the
# commands `npm run start:distributed` runs:
#   node services/<auth|catalog|cart|order|payment|notification>/dist/main.js
#   node edge/dist/main.js                    (the default)
#   node launcher/dist/migrate.js <service>   (migrates that service's database, then exits)
# docker-compose.yml and helm/shopmesh set the command of each container. Build it with
#   docker build -t shopmesh:0.1.0 .
ARG NODE_VERSION=24

# The lockfile and every workspace's package.json (npm ci needs all the workspaces it lists):
# the dependency layers below are rebuilt only when one of these changes.
FROM node:${NODE_VERSION}-slim AS manifests
WORKDIR /app
COPY package.json package-lock.json ./
COPY proto/package.json proto/
COPY platform/package.json platform/
COPY services/auth/package.json services/auth/
COPY services/catalog/package.json services/catalog/
COPY services/cart/package.json services/cart/
COPY services/order/package.json services/order/
COPY services/payment/package.json services/payment/
COPY services/notification/package.json services/notification/
COPY edge/package.json edge/
COPY edge/web/package.json edge/web/
COPY launcher/package.json launcher/
COPY bench/package.json bench/

# Compiles the processes: `tsc -b launcher` builds proto, platform, the six services, the edge and
# the launcher (its project references), not the benchmark; then Vite bundles the storefront
# the edge serves (edge/web/dist).
FROM manifests AS build
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY . .
RUN npx tsc -b launcher
RUN npm run build -w @shopmesh/web

# The production dependencies of the workspaces the image runs, and nothing else (the storefront
# is a bundle: it needs none at run time).
FROM manifests AS prod-deps
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --no-audit --no-fund \
      --workspace=proto --workspace=platform \
      --workspace=services/auth --workspace=services/catalog --workspace=services/cart \
      --workspace=services/order --workspace=services/payment --workspace=services/notification \
      --workspace=edge --workspace=launcher

FROM node:${NODE_VERSION}-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
# The manifests and the production node_modules trees (some packages are installed under a
# workspace's own node_modules), then the compiled code of each workspace the image runs.
COPY --from=prod-deps /app ./
COPY --from=build /app/proto/dist proto/dist
COPY --from=build /app/platform/dist platform/dist
COPY --from=build /app/services/auth/dist services/auth/dist
COPY --from=build /app/services/catalog/dist services/catalog/dist
COPY --from=build /app/services/cart/dist services/cart/dist
COPY --from=build /app/services/order/dist services/order/dist
COPY --from=build /app/services/payment/dist services/payment/dist
COPY --from=build /app/services/notification/dist services/notification/dist
COPY --from=build /app/edge/dist edge/dist
COPY --from=build /app/edge/web/dist edge/web/dist
# The API documentation the edge serves (/api/openapi.json, /docs), generated from the contracts.
COPY --from=build /app/docs/api docs/api
COPY --from=build /app/launcher/dist launcher/dist
# The node image's unprivileged user, by number so that Kubernetes' runAsNonRoot can verify it.
# The files stay root's: the processes cannot change their own code.
# The mount point of the mesh's certificates (docker compose's tls volume), the user's own so
# that a new volume mounted there is writable by the certs container.
# /images likewise: the edge's product images, docker compose's images volume.
RUN mkdir -p /tls /images && chown 1000:1000 /tls /images
USER 1000:1000
# Edge; admin server (/metrics, /healthz, /readyz); the services' gRPC ports.
EXPOSE 8080 9464 50051-50056
CMD ["node", "edge/dist/main.js"]
