# One image for the API and the workers (docker-compose.yml picks the command).
# Dependencies are installed as scripts/setup.sh does: `npm ci` (npm 11, which honours
# package.json's allowScripts, so tfjs-node's own download script stays off), then native
# TensorFlow for tfjs-node built by scripts/install-native-tf.sh from PyPI's tensorflow-cpu wheel.
# Node 22 (LTS): Node 20 is past its end of life. Local development runs on Node >= 20.19 as well.
#
# Native TensorFlow exists for x86-64 only (the wheel tfjs-node's C API comes from). On another
# architecture (arm64: Apple Silicon, Graviton) the image builds without it and the ML engine falls
# back to pure-JS TensorFlow.js, as scripts/setup.sh does: it works, but training is far slower, and
# the build and every start say so loudly. ML_BACKEND=tensorflow makes such a start fail instead.

FROM node:22-bookworm AS build
# python3 + pip to fetch the wheels, a C/C++ toolchain and readelf for the binding.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 python3-pip build-essential binutils \
  && rm -rf /var/lib/apt/lists/*
# The npm this project is developed and tested with (Node 22 images ship npm 10).
RUN npm install -g npm@11.19.1
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY scripts/install-native-tf.sh scripts/build-native.sh scripts/
COPY native native
# The wheel cache is dropped once the libraries (and the project's op, next to them) sit in
# node_modules/@tensorflow/tfjs-node/deps. The native image characteristics need no TensorFlow: every architecture.
RUN if [ "$(dpkg --print-architecture)" = amd64 ]; then \
      bash scripts/install-native-tf.sh && rm -rf .tools; \
    else \
      echo "WARNING: no native TensorFlow for $(dpkg --print-architecture): this image trains with pure-JS TensorFlow.js (much slower)" >&2; \
    fi \
    && bash scripts/build-native.sh
# The console's bundle (esbuild is a dev dependency): the API serves console/dist under /console.
COPY console console
COPY scripts/buildConsole.ts scripts/
RUN npx tsx scripts/buildConsole.ts
RUN npm prune --omit=dev --no-audit --no-fund

FROM node:22-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
# On x86-64, fails the build if native TensorFlow does not load without the build stage's toolchain.
RUN if [ "$(dpkg --print-architecture)" = amd64 ]; then \
      TF_CPP_MIN_LOG_LEVEL=2 node -e "process.exit(require('@tensorflow/tfjs-node').getBackend() === 'tensorflow' ? 0 : 1)"; \
    else \
      echo "WARNING: $(dpkg --print-architecture) image without native TensorFlow (pure-JS fallback)" >&2; \
    fi
COPY . .
COPY --from=build /app/console/dist ./console/dist
COPY --from=build /app/native/build ./native/build
# The API's spool folder (a named volume in docker-compose.yml takes this owner on first use).
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3000
# Builds the store URLs from compose's separate settings (secrets percent-encoded), then execs the command.
ENTRYPOINT ["/bin/sh", "/app/deploy/app/entrypoint.sh"]
CMD ["node", "--no-memory-reducer", "--import", "tsx", "api/server.ts"]
