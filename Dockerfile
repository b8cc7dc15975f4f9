# syntax=docker/dockerfile:1
# One image for every `meshwright` command (operator, control-plane, capture, generate, dev).
# Build: docker build -t quay.io/meshwright/meshwright:v1.1.0 .

# ---- build: all dependencies, compile TypeScript to dist/
FROM node:22-bookworm AS build
WORKDIR /src
COPY package.json package-lock.json ./
# with scripts: the pinned `node` devDependency installs its Node 22 binary, which npm scripts use
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY operator ./operator
RUN npm run build

# ---- production dependencies only
FROM node:22-bookworm AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts

# ---- runtime: slim Node 22, non-root, nothing but dist/, bin/, crds/ and production node_modules
FROM node:22-bookworm-slim
ENV NODE_ENV=production
# iptables: `meshwright capture`, which the sidecar's init container runs (as root, NET_ADMIN only)
RUN apt-get update && apt-get install -y --no-install-recommends iptables \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY crds ./crds
COPY config/samples ./config/samples
RUN ln -s /app/bin/meshwright.js /usr/local/bin/meshwright
USER 65532:65532
# operator: metrics 8080, health 8081; control plane: xDS 15010/15012, webhook 15017, metrics 15014, health 15021
EXPOSE 8080 8081 15010 15012 15014 15017 15021
ENTRYPOINT ["node", "/app/dist/operator/cli.js"]
CMD ["operator"]
