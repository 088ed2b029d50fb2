/**
 * Node options the API process starts with, wherever it is started: the scripts, benchmarks and the tests' API
 * processes import this list; the Dockerfile, Compose file, Kubernetes manifest, package.json and
 * scripts/topology/up.sh write it out (test/unit/composeFile.test.ts and k8sManifests.test.ts hold them to it).
 *
 * `--no-memory-reducer`: V8's memory reducer starts a compacting mark-compact when the allocation rate falls (the lull
 * between a level of frames and the next); its final pause was 6.6-13.8 ms where the API's other major collections
 * paused 2-4 ms (40 MB live), and it was the longest event-loop stall of whole frame-cost runs (bench/README, "Issue
 * 26, seventh stop"). Without it the heap keeps the size its load needed through a lull instead of shrinking (about
 * 15 MB at 128 frames/s). V8 reads it only at start: NODE_OPTIONS refuses it, and `v8.setFlagsFromString` in the
 * running process still let one such collection through.
 */
export const API_NODE_FLAGS = ['--no-memory-reducer'];
