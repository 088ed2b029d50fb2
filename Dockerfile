# One image for the API and the workers (docker-compose.yml picks the command).
# Dependencies are installed as scripts/setup.sh does: `npm ci` (npm 11, which honours
# package.json's allowScripts, so tfjs-node's own download script stays off), then native
# TensorFlow for tfjs-node built by scripts/install-native-tf.sh from PyPI's tensorflow-cpu wheel.

FROM node:20-bookworm AS build
# python3 + pip to fetch the wheels, a C/C++ toolchain and readelf for the binding.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 python3-pip build-essential binutils \
  && rm -rf /var/lib/apt/lists/*
# The npm this project is developed and tested with (Node 20 images ship npm 10).
RUN npm install -g npm@11.19.1
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY scripts/install-native-tf.sh scripts/
# The wheel cache is dropped once the libraries sit in node_modules/@tensorflow/tfjs-node/deps.
RUN bash scripts/install-native-tf.sh && rm -rf .tools
RUN npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
# Fails the build if native TensorFlow does not load without the build stage's toolchain.
RUN TF_CPP_MIN_LOG_LEVEL=2 node -e "process.exit(require('@tensorflow/tfjs-node').getBackend() === 'tensorflow' ? 0 : 1)"
COPY . .
# The API's spool folder (a named volume in docker-compose.yml takes this owner on first use).
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3000
CMD ["node", "--import", "tsx", "api/server.ts"]
