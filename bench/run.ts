/**
 * `npm run bench`: training throughput (tfjs-node, pure JS, Keras), a full TrainAndRegister
 * of the thesis sweep, /predict latency under simulated rovers and peak memory of the API
 * and the worker, /predict with a rollout's shadow off and on, the drift monitor (detection per phase, false alarms, cost of one check),
 * and the sensor health check (frames to flag per laser fault, false flags on healthy rovers, the race with the drift check). Prints markdown tables (progress goes to stderr) and writes them, with the
 * raw numbers, to bench/results/. Measures; asserts nothing about times.
 * Knobs: see bench/settings.ts (BENCH_QUICK=1 for a smoke run).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { benchmarkDatasetPipeline, datasetPipelineTable } from './datasetPipeline.js';
import { benchmarkDriftMonitor, driftTables } from './driftMonitor.js';
import { benchmarkFrameCost, frameCostTable, LABEL_MAX_MM, WARM_UP_CALLS } from './frameCost.js';
import { ensureKerasVenv } from './kerasReference.js';
import { benchmarkPredictPaths, predictPathsTable } from './predictPaths.js';
import { benchmarkRequestOverhead, requestOverheadTable, WARM_UP_REQUESTS as OVERHEAD_WARM_UP } from './requestOverhead.js';
import { recordParkingRuns, writeTrainingSet, type DatasetFiles } from './parkingFrames.js';
import { duration, fixed } from './markdownTable.js';
import { benchmarkRetrainStages, retrainStagesTable } from './retrainStages.js';
import { benchmarkRollout, rolloutTables } from './rolloutLatency.js';
import { promotionTables } from './rolloutPromotion.js';
import { loadBenchSettings } from './settings.js';
import { benchmarkSensorHealth, sensorHealthTables } from './sensorHealth.js';
import { benchmarkStoreWrites, storeWritesTable } from './storeWrites.js';
import { benchmarkServingLoad, levelsOf, loadTable, sideBySideTable, targetLines, type ServerUnderLoad } from './servingLoad.js';
import { startBusyProcesses } from './busyMachine.js';
import { benchmarkSystem, systemTables } from './systemBenchmark.js';
import { thesisStageCost } from './thesisHarness.js';
import { benchmarkTrainingError, trainingErrorTable } from './trainingError.js';
import { profileTraining, trainingProfileTable } from './trainingProfile.js';
import { benchmarkTraining, trainingTable } from './trainingThroughput.js';

const settings = loadBenchSettings();
const backendLabel = (name: string) => (name === 'tensorflow' ? 'tfjs-node, native TensorFlow' : `tfjs ${name} backend`);
const startedAt = new Date();
const t0 = performance.now();
const log = (line: string) => console.error(`[bench ${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}`);
const sections: string[] = [];
const raw: Record<string, unknown> = { settings };
const emit = (section: string) => {
  sections.push(section);
  console.log(`${section}\n`);
};

function gitRevision(): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim() !== '';
    return dirty ? `${commit} + uncommitted changes` : commit;
  } catch {
    return 'unknown';
  }
}

const knobs = Object.entries(process.env)
  .filter(([key]) => /^(BENCH_|ML_|SWEEP_PARALLELISM$|TF_NUM_INTRAOP_THREADS$|TF_NUM_INTEROP_THREADS$)/.test(key))
  .map(([key, value]) => `${key}=${value}`)
  .sort();
const loadAverage = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(', ');
const cpu = os.cpus();
const busy = startBusyProcesses(settings.busy);
emit(
  [
    `## Benchmarks ${startedAt.toISOString()}${settings.quick ? ' (BENCH_QUICK=1: smoke run, numbers not representative)' : ''}`,
    '',
    `- command: \`${[...knobs, 'npm run bench'].join(' ')}\``,
    `- machine: ${cpu.length} x ${cpu[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}; Node ${process.version}; revision ${gitRevision()}`,
    `- load average at start (1, 5, 15 min): ${loadAverage()}`,
    settings.busy > 0
      ? `- **busy machine**: BENCH_BUSY=${settings.busy}: ${settings.busy} CPU-burning processes (\`node -e 'for (;;) {}'\`, normal priority) ran beside the whole bench`
      : '- BENCH_BUSY=0: no CPU-burning processes beside the bench (other work on the machine shows in the load averages)',
    ...(settings.parts.some((p) => p === 'training' || p === 'stack' || p === 'rollout')
      ? [
          `- data: ${settings.frames} labelled frames from the edge simulator (beige-350 parking runs), ${Math.round(settings.testFraction * 100)} % held out as the sweep's test split`,
        ]
      : []),
  ].join('\n'),
);

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-bench-frames-'));
try {
  const recordFrames = async () => {
    log(`rendering parking runs until ${settings.frames} frames carry a laser reading`);
    const recorded = await recordParkingRuns('beige-350', settings.frames);
    log(
      `${recorded.total} frames (${recorded.labelled} labelled) from ${recorded.runs.length} runs in ${recorded.renderSeconds.toFixed(1)} s`,
    );
    return recorded;
  };
  const recorded = settings.parts.some((p) => p === 'training' || p === 'stack' || p === 'rollout') ? await recordFrames() : undefined;

  if (recorded && settings.parts.includes('training')) {
    const trainCount = settings.frames - Math.round(settings.frames * settings.testFraction);
    const datasets = new Map<string, DatasetFiles>();
    const testSets = new Map<string, DatasetFiles>();
    for (const target of settings.architectures) {
      datasets.set(target.architecture, await writeTrainingSet(recorded, trainCount, target, workDir));
      testSets.set(
        target.architecture,
        await writeTrainingSet(recorded, settings.frames - trainCount, target, workDir, { skip: trainCount, name: 'test' }),
      );
    }
    const profiles = await profileTraining(settings, datasets, log);
    raw.trainingProfile = profiles;
    const measurements = await benchmarkTraining(settings, datasets, log);
    raw.training = measurements;
    emit(
      [
        `### Training throughput (one process per row; ${trainCount} frames, the sweep's train split; Adam, MSE)`,
        '',
        trainingTable(measurements, settings.throughputBatchSize),
        '',
        'Pure JS trains the same model for a few batches only (a full epoch of the thesis CNN takes hours); its epoch time is extrapolated from them.',
        `TensorFlow's own thread default (every core) for tfjs-node and Keras${process.env.TF_NUM_INTRAOP_THREADS ? `, here TF_NUM_INTRAOP_THREADS=${process.env.TF_NUM_INTRAOP_THREADS}` : ''}; one job at a time.`,
      ].join('\n'),
    );
    emit(
      [
        `### Where a training step's time goes (batch ${settings.throughputBatchSize}, the first frames; model.fit's step with every native op call of tfjs-node timed)`,
        '',
        trainingProfileTable(profiles, measurements, settings.throughputBatchSize),
      ].join('\n'),
    );
    const sets = new Map(
      settings.architectures.map((t) => [t.architecture, { train: datasets.get(t.architecture)!, test: testSets.get(t.architecture)! }]),
    );
    const errors = await benchmarkTrainingError(settings, sets, log);
    raw.trainingError = errors;
    emit(
      [
        `### Final test error: training graph vs model.fit (trainModel, ${settings.sweepEpochs} epochs, batch ${settings.throughputBatchSize}, dropout 0.1, Adam 0.001; ${trainCount} frames to train, the next ${settings.frames - trainCount} to test)`,
        '',
        trainingErrorTable(errors),
      ].join('\n'),
    );
  }

  if (recorded && settings.parts.includes('stack')) {
    const system = await benchmarkSystem(settings, recorded, log);
    raw.system = system;
    const tables = systemTables(system, recorded.renderSeconds);
    const sweep = settings.sweep;
    emit([`### Collecting the frames (the dataset of the TrainAndRegister below)`, '', tables.ingest].join('\n'));
    emit(
      [
        `### TrainAndRegister: thesis sweep (thesis-inception at 100x75, batch ${sweep.batchSizes.join('/')} x dropout ${sweep.dropouts.join('/')}, ${settings.sweepEpochs} epoch${settings.sweepEpochs > 1 ? 's' : ''} each), real Temporal dev server`,
        '',
        tables.sweep,
        '',
        'Times from the run\'s Temporal history: "waited" is scheduled -> started (no free worker slot), "ran" is started -> completed.',
      ].join('\n'),
    );
    emit(
      [
        `### /predict with analysis on (thesis-inception v${system.sweep.result.registration.registered ? system.sweep.result.registration.version : '?'}; closed loop: each rover sends its next frame when the answer arrives)`,
        '',
        tables.predict,
        '',
        'Latency is measured by the rover client (multipart upload to parsed answer) on the same machine as the API.',
      ].join('\n'),
    );
    emit(
      ['### Peak memory of the API and the worker (high-water marks, so each column includes the ones before)', '', tables.memory].join(
        '\n',
      ),
    );
  }

  if (recorded && settings.parts.includes('rollout')) {
    const rollout = await benchmarkRollout(settings, recorded, log);
    raw.rollout = rollout;
    const tables = rolloutTables(rollout);
    const seen = rollout.stageSeenAfterSeconds;
    emit(
      [
        `### /predict with a rollout's shadow off and on (thesis-inception at 100x75, v1 from one trial of ${settings.rollout.epochs} epoch${settings.rollout.epochs > 1 ? 's' : ''}, v2 the same artifact; closed loop)`,
        '',
        tables.levels,
        '',
        tables.comparison,
        '',
        `Off: a \`direct\` deployment pinned to v1. Shadow: a \`shadow\` deployment on \`latest\` (current v1) whose rollout of v2 is in its shadow stage: v1 answers, v2 predicts on every frame during its analysis, after the answer.${rollout.levels.some((l) => l.mode === 'canary') ? ` Canary: the same rollout in its canary stage; every ${settings.rollout.canaryEvery}th rover is a canary client (v2 answers it, v1 shadows it), the others as in the shadow stage.` : ''} Each number of rovers runs ${settings.rollout.rounds} round${settings.rollout.rounds > 1 ? 's' : ''} of off and on with the same frames${settings.rollout.rounds > 1 ? ', off first in odd rounds and on first in even ones; percentiles and throughput pool the answers of all rounds, the drain and load average are per round' : ''}. The drain is from the last answer until the round's records are all stored (read from the stack's SQLite measurement store every 50 ms). The stage was seen in a stored record ${duration(seen.shadow)} (shadow)${seen.canary === undefined ? '' : ` and ${duration(seen.canary)} (canary)`} after setRolloutStage (the API reads deployments through a cache with a short TTL). Latency is measured by the rover client on the same machine as the API.`,
      ].join('\n'),
    );
    const promotion = rollout.promotion;
    if (promotion) {
      const p = promotionTables(promotion);
      const stage = (s: { minFrames: number; minMinutes: number; maxMinutes: number }) =>
        `minFrames ${s.minFrames}, minMinutes ${s.minMinutes}, maxMinutes ${s.maxMinutes}`;
      emit(
        [
          `### Rollout from registration to promotion (v${promotion.candidateVersion}, the trained artifact, against v${promotion.constantVersion}, which predicts ${promotion.constantMm} mm for every frame; ${promotion.rovers} rovers at ${promotion.framesPerSecond} frames/s each, open loop)`,
          '',
          `Policy of the \`shadow\` deployment: shadow ${stage(promotion.policy.shadow)}; canary ${stage(promotion.policy.canary)}; canaryShare ${promotion.policy.canaryShare}, alpha ${promotion.policy.alpha}, checkSeconds ${promotion.policy.checkSeconds}. Load average (1, 5, 15 min) at the registration ${promotion.loadAverage.atRegistration.map((l) => l.toFixed(2)).join(', ')}, at the end ${promotion.loadAverage.atEnd.map((l) => l.toFixed(2)).join(', ')}.`,
          '',
          p.milestones,
          '',
          p.stages,
          '',
          p.answers,
          '',
          ...p.notes.flatMap((n) => [n, '']),
          `The candidate is registered from the bench process (the registry's createdAt is the start), and its rollout started with TrainAndRegister's own startRollouts activity; the steps are the deployment's serving changes written by the Rollout workflow (${promotion.workflowId}). "frames" counts the stage's stored frames, "pairs" those both versions predicted with a laser reading, at the stage's last look (every checkSeconds). Rover answers are grouped by when they were sent against the steps' times.`,
        ].join('\n'),
      );
    }
  }

  if (settings.parts.includes('frame-cost')) {
    const cost = settings.frameCost;
    const frames = recorded
      ? recorded.runs.flatMap((run) => run.frames)
      : (await recordParkingRuns('beige-350', cost.frames)).runs.flatMap((run) => run.frames);
    const stages = await benchmarkFrameCost(cost, frames, log);
    raw.frameCost = stages;
    emit(
      [
        `### Where a frame's CPU goes: each stage in one process (thesis-inception at ${cost.input.width}x${cost.input.height}, untrained weights; ${backendLabel(stages.backend)}; the recorded ${frames.length} frames of ${stages.frameBytes} bytes on average, 160x120 JPEG)`,
        '',
        frameCostTable(stages),
        '',
        `One call after the other, after ${WARM_UP_CALLS} untimed calls per stage. CPU is process.cpuUsage around each call: every thread of the process (TensorFlow's, libuv's for sharp and file writes, the analysis pool's), so it can exceed the wall time. Batched rows divide the call by its frames. Two sums: the stages the API ran for every frame before issue 11's cuts (one decode and resize for the model, a batch-1 predict, the analysis decoding the JPEG again, one record per write), and the stages it runs now (with native TensorFlow: the JPEG decoded, resized and predicted in one call of the inference thread at batch 8; without it: one sharp decode for both, the resize from its pixels, a batch-8 predict; then the characteristics of the decoded pixels, records written 32 at a time). Both leave out Express routing, the HTTP server and the answer (the next table); the header check and authentication count in the sum of now only. Load average (1, 5, 15 min) at the start ${stages.loadAverage.start.map((l) => l.toFixed(2)).join(', ')}, at the end ${stages.loadAverage.end.map((l) => l.toFixed(2)).join(', ')}.`,
      ].join('\n'),
    );
    const overhead = await benchmarkRequestOverhead(cost.requestOverhead, frames, log);
    raw.requestOverhead = overhead;
    emit(
      [
        "### Where a frame's CPU goes around the model: HTTP, Express, the API's middleware, multer, authentication and the header check (one server process per rung, its own CPU per request)",
        '',
        requestOverheadTable(overhead),
        '',
        `Each rung is /predict built up to it in a process of its own (bench/requestOverheadServer.ts, the API's own middleware and handlers), answering a fixed prediction: no model, spool or analysis. The bench's rovers send the recorded frames ${overhead.concurrency} at a time over keep-alive connections; the rungs take turns over ${overhead.rounds} rounds after ${OVERHEAD_WARM_UP} untimed requests each. CPU is the server's process.cpuUsage (every thread, so sharp's pool counts) over the requests. The real API has more routers in front of /predict and its in-flight budget, so its overhead is a little higher. Load average (1, 5, 15 min) at the start ${overhead.loadAverage.start.map((l) => l.toFixed(2)).join(', ')}, at the end ${overhead.loadAverage.end.map((l) => l.toFixed(2)).join(', ')}.`,
      ].join('\n'),
    );
    if (cost.thesis) {
      await ensureKerasVenv();
      log('frame cost: the thesis predict path, stage by stage (bench/thesis_stage_cost.py)');
      const thesisStages = await thesisStageCost({ frames, input: cost.input, labelMaxMm: LABEL_MAX_MM, calls: cost.repetitions });
      raw.thesisFrameCost = thesisStages;
      emit(
        [
          `### Where a frame's CPU goes on the thesis's predict path: each stage in one Python process (bench/thesis_stage_cost.py; ${thesisStages.engine}; the same frames and model)`,
          '',
          frameCostTable(thesisStages, [{ key: 'thesis', label: '**sum of one frame as the thesis did it**' }]),
          '',
          `One call after the other, after ${WARM_UP_CALLS} untimed calls per stage; CPU is time.process_time around each call (every thread of the process). The sum leaves out Werkzeug's HTTP server and multipart parsing, Flask's routing, the request log line and the analysis thread's start.`,
        ].join('\n'),
      );
    }
    if (!cost.stack) {
      emit('The API under open-loop rovers: skipped (BENCH_COST_STACK=0).');
    } else {
      const load = await benchmarkServingLoad(cost, frames, log);
      raw.servingLoad = load;
      const { api, thesis } = load;
      const sustainable = (server: ServerUnderLoad) =>
        server.sustainableFramesPerSecond === undefined ? 'none' : `${server.sustainableFramesPerSecond} frames/s`;
      const cpuNote = (server: ServerUnderLoad, name: string) =>
        `${name} CPU per frame: utime + stime of its process (/proc/<pid>/stat, every thread) from the first frame until the analysis stored the last record, minus its idle rate (${fixed(server.idleCores * 100)} % of a core up with no frames), over the frames whose record was stored (the answered ones, and timed-out ones it finished anyway).`;
      emit(
        [
          `### The API under open-loop rovers (stack of bench/stack.ts, embedded stores, analysis on; thesis-inception at ${cost.input.width}x${cost.input.height} untrained; rovers at 4 frames/s, each gives up after ${cost.timeoutMs / 1000} s)`,
          '',
          loadTable(levelsOf(api)),
          '',
          `Rows: one rover sending ${cost.repetitions} frames one after the other, the steady rate the API's CPU per frame is read at, the step rates (${cost.stepSeconds} s each), then 128 and 256 frames/s. Highest step rate with p99 < 100 ms and every frame answered: ${sustainable(api)}. ${cpuNote(api, 'API')} The rovers run in the bench process on the same 2 cores (${fixed(api.cpu.clientCpuMsPerFrame, 2)} ms CPU per frame at ${api.cpu.framesPerSecond} frames/s, ${cost.roverClient === 'http' ? 'bodies built once, node:http keep-alive' : "the edge's RoverClient: fetch, a FormData per frame"}; BENCH_ROVER_CLIENT). The longest event-loop stall is the API's \`api_event_loop_stall_max_seconds\` (its longest stall since the last scrape), scraped at each level's start and once its last record was stored.`,
          '',
          `Issue 26's targets (meant for a quiet machine${settings.busy > 0 ? `; this run had BENCH_BUSY=${settings.busy}` : ''}; load average now ${loadAverage()}):`,
          '',
          ...targetLines(api).map((line) => `- ${line}`),
        ].join('\n'),
      );
      if (!thesis) {
        emit("The thesis's predict path: skipped (BENCH_COST_THESIS=0).");
      } else {
        emit(
          [
            "### The thesis's predict path under the same rovers (bench/thesis_predict_server.py: Flask's threaded development server, Keras on tensorflow-cpu 2.9.1, analysis thread per frame with OpenCV and scikit-image; objects in a folder, clients and records in SQLite)",
            '',
            loadTable(levelsOf(thesis), 'thesis'),
            '',
            `Started after the stack was stopped, with the same rovers, frames and levels. Highest step rate with p99 < 100 ms and every frame answered: ${sustainable(thesis)}. ${cpuNote(thesis, 'Its')} Exceptions in its log (in a request Flask answers 500; in an analysis thread the record is lost, as in the thesis): ${Object.keys(load.thesisExceptions).length ? JSON.stringify(load.thesisExceptions) : 'none'}.`,
          ].join('\n'),
        );
        emit(
          [
            '### This project and the thesis side by side (same run, same rovers, frames and levels)',
            '',
            sideBySideTable(api, thesis),
          ].join('\n'),
        );
      }
    }
  }

  if (settings.parts.includes('predict-paths')) {
    const paths = settings.predictPaths;
    const frames = (await recordParkingRuns('beige-350', paths.frames)).runs.flatMap((run) => run.frames);
    const found = await benchmarkPredictPaths(paths, frames, log);
    raw.predictPaths = found;
    emit(
      [
        `### Ways to run a layers model on a frame (untrained kernels, seed 1, random biases; ${backendLabel(found.backend)}; threads: ${found.threads}; the recorded ${found.frames} frames)`,
        '',
        predictPathsTable(found),
        '',
        `Each call is what /predict does: the frame's pixels to a float tensor, the path, reading the output. The paths take turns in ${paths.rounds} rounds of ${Math.ceil(paths.calls / paths.rounds)} batch-1 calls and an eighth as many batches of 8, after ${5} untimed calls each; p50 over all rounds. CPU is process.cpuUsage around each call (every thread of the process). "max abs diff" is over the outputs for every recorded frame in one batch, against model.predict. "compile" is compileForServing from a loaded layers model: export, write to its default cache (a folder of the process's own), load the session, check it against the layers model and warm it. Load average (1, 5, 15 min) at the start ${found.loadAverage.start.map((l) => l.toFixed(2)).join(', ')}, at the end ${found.loadAverage.end.map((l) => l.toFixed(2)).join(', ')}.`,
      ].join('\n'),
    );
  }

  if (settings.parts.includes('dataset-pipeline')) {
    const plan = settings.datasetPipeline;
    const runs = await benchmarkDatasetPipeline(plan, log);
    raw.datasetPipeline = runs;
    emit(
      [
        `### Dataset pipeline: assembleDataset + preprocess, first retrain and second with ${Math.round(plan.newFraction * 100)} % new records`,
        '',
        datasetPipelineTable(runs),
        '',
        `Synthetic labelled records over ${plan.deployments} deployments and 160x120 JPEGs (gradient and noise, about 6 KB; a pool of 32 reused under every key), preprocessed to ${plan.input.width}x${plan.input.height}; activities run in this process (MockActivityEnvironment). Above ${plan.allUpTo} records the policy is a reservoir of ${plan.sample} records in all and only the frames it selects in either retrain have a JPEG. read/written: bytes of preprocess (records, cache index, packs, JPEGs; split files, manifest).${plan.production ? '' : ' Production not measured: PRODUCTION_MEASUREMENTS_URL or PRODUCTION_OBJECTS_URL unset (source .services/env).'}`,
      ].join('\n'),
    );
  }

  if (settings.parts.includes('retrain')) {
    const plan = settings.retrain;
    const runs = await benchmarkRetrainStages(plan, log);
    raw.retrain = runs;
    emit(
      [
        `### Retrain by stage: thesis-inception at 100x75, sweep batch ${plan.sweep.batchSizes.join('/')} x dropout ${plan.sweep.dropouts.join('/')} x ${plan.epochs} epochs`,
        '',
        retrainStagesTable(runs),
        '',
        `Labelled beige-350 parking frames (edge simulator) stored as the API would (SQLite + folder, no characteristics), then one TrainAndRegister on a Temporal dev server with the workers in this process (training capacity from the cores: ${os.availableParallelism()}). Stage times are activity run times from the run's history; "in trials" rows are the trials' own stage clocks summed over trials (trials run in parallel, so they exceed the sweep's wall time). Extra training config: \`${JSON.stringify(plan.config)}\`.${plan.second ? ` Second retrain: ${plan.second.frames} labelled ${plan.second.preset} frames added, extra config \`${JSON.stringify(plan.second.config)}\`.` : ''} "in trials" rows count each trial's last job only (a trial halving trained on ran two); its epochs include the validation MAE after each epoch.`,
      ].join('\n'),
    );
  }

  if (settings.parts.includes('drift')) {
    const drift = settings.drift;
    const found = await benchmarkDriftMonitor(drift, log);
    raw.drift = found;
    const tables = driftTables(found);
    const rendered = found.recordings.reduce((n, r) => n + r.frames, 0);
    const renderSeconds = found.recordings.reduce((n, r) => n + r.seconds, 0);
    emit(
      [
        `### Drift monitor: model versions (compact CNN at ${drift.input.width}x${drift.input.height}, ${drift.epochs} epochs, 80/20 split; reference profile by referenceProfileOf)`,
        '',
        tables.versions,
        '',
        `${rendered} frames rendered and analysed (22 characteristics each) in ${duration(renderSeconds)}: ${drift.referenceFrames} labelled frames per preset for training (seed 101), ${drift.streamFrames} per preset as the deployments' frames (seed 202).`,
      ].join('\n'),
    );
    emit(
      [
        '### Drift monitor: detection per phase (default monitor config: a check every 60 s of the last 5 minutes, at most 38,400 frames, at least 200)',
        '',
        tables.detection,
        '',
        `"fired by" and the statistic: the first check of one rover's deployment that found drift. "frames to detect": the fewest frames of the phase (one rover's arrival order, tried every 20 frames from 200) after which checkDrift says drift; label and performance are only tested once 200 frames carry a laser reading, so the smallest windows may fire on covariates alone (named when the kinds differ). "time to detect": the phase starts right after a check; rovers send 4 frames/s; checks run every 60 s of simulated time; the first check that finds drift, with the frames stored by then. 32 rovers drive the recording's runs in turn and reuse them when it runs out ("distinct" counts the different frames in that window).`,
      ].join('\n'),
    );
    emit(
      [
        "### Drift monitor: false alarms on in-distribution windows (reference: a version trained on the same preset, seed 101; windows: the preset's frames of seed 202)",
        '',
        tables.falseAlarms,
        '',
        'Windows of consecutive frames evenly spaced over the recording; "overlap" is how much of a window its neighbour shares (neighbouring windows are not independent trials). Largest values over all windows of the row.',
        '',
        `Every check above ran as the monitor runs it, on the window's counts over the reference grid (core/drift/windowSummary.ts); the raw window's check ran beside it: ${found.paths.disagreements.length} of ${found.paths.checks} checks differed in verdict or kinds${found.paths.disagreements.length ? ` (${found.paths.disagreements.slice(0, 5).join('; ')})` : ''}.`,
      ].join('\n'),
    );
    emit(
      [
        '### Drift monitor: cost of one check (the default window: newest 38,400 frames of one deployment and version in the last 5 minutes)',
        '',
        tables.cost,
        '',
        `Synthetic stored frames: characteristics, readings and answers of 300 rendered frames with 1 % jitter; the checked deployment holds twice the window (at 128 frames/s) or half the store when smaller, 31 other deployments the rest. Fill: SQLite through better-sqlite3 in transactions of 4,000 rows, InfluxDB through the store's write() in batches of 4,000. The reference is v2's profile. ${drift.costRepetitions} checks per row after the store is filled; the first read is cold. Memory: after the first check (window and report still held) minus before its read, after a collection: process RSS, and V8 heap plus array buffers.${drift.influxUrl ? '' : ' InfluxDB not measured: PRODUCTION_MEASUREMENTS_URL unset (source .services/env).'}`,
      ].join('\n'),
    );
  }

  if (settings.parts.includes('sensor-health')) {
    const sensors = settings.sensorHealth;
    const found = await benchmarkSensorHealth(sensors, log);
    raw.sensorHealth = found;
    const tables = sensorHealthTables(found, sensors);
    const simulated = `Simulated deployments of three rovers (edge/simulatedFleet.ts: parking runs at 4 frames/s, edge/laser.ts's laser with 3 % noise and 2 % dropouts, the prediction modelled as the true distance plus a model error of N(0, 10 mm) plus a bias of up to 4 mm that every rover sees at the same distance (MAE about 8.5 mm) in distribution, floor characteristics plus noise; no camera rendering, no trained model), default monitor config.`;
    emit(
      [
        `### Sensor health: frames to flag (one rover of three gets the fault after a full 5-minute window of healthy frames; ${sensors.seeds} seeds)`,
        '',
        tables.flags,
        '',
        `${simulated} "frames to flag": frames of the faulty rover after the onset (4 per second) at the first check of the last 5 minutes that calls it suspect, tried after 10, 20, ... 100, then every 20 to 400, then every 50 to ${sensors.maxFaultFrames}; "onset error": the estimated onset (\`since\`) minus the true one.`,
      ].join('\n'),
    );
    emit(
      [
        `### Sensor health: false flags on healthy rovers (a check every 60 s of the last 5 minutes; ${sensors.healthyMinutes} min x ${sensors.seeds} seeds per row)`,
        '',
        tables.falseFlags,
        '',
        "A flag: a rover suspect at a check that was not at the one before. The five demo phases are whole-deployment shifts: every rover meets them alike, modelled on the drift benchmark's measured errors (simulated: 23, 106, 20, 110 and 34 mm against 8.7 mm in distribution). The stress row is no demo phase: each rover's approach angle varies per parking run, up to 30 degrees, while the model's error (11 mm) stays below the performance check's thresholds, so the drift does not switch the peer check off.",
      ].join('\n'),
    );
    emit(
      [
        `### Sensor health: one faulty rover against the drift check (reference: the in-distribution model, test error ${found.reference.testMeanErrorMm.toFixed(1)} mm)`,
        '',
        tables.race,
        '',
        "The same checks of the last 5 minutes (full of healthy frames before the onset, or of a deployment that starts with the fault): the first at which the rover is flagged, and the first at which checkDrift (default monitor config: p < 0.001, error x1.5 and +3 mm, or label or covariate drift) finds drift in the deployment's window with all three rovers; then checkDrift on the same window without the suspect rover. Invalid readings carry no error (as ingest stores them).",
      ].join('\n'),
    );
    emit(['### Sensor health: cost of one assessment of a full 5-minute window', '', tables.cost].join('\n'));
  }

  if (settings.parts.includes('store-writes')) {
    const plan = settings.storeWrites;
    const found = await benchmarkStoreWrites(plan, log);
    raw.storeWrites = found;
    emit(
      [
        '### Store writes: what each frame writes, per second from one writer',
        '',
        storeWritesTable(found),
        '',
        `One process, ${plan.concurrency} writes in flight, against the servers of scripts/services/up.sh on this machine (the same cores run the writer). A frame writes one inference record (in the API's batches of ${plan.recordBatch}), one JPEG, and with an \`Idempotency-Key\` a claim and a settlement in the registry.${plan.urls.measurements ? '' : ' Production stores not measured: source .services/env.'}`,
      ].join('\n'),
    );
  }

  emit(`Total ${((performance.now() - t0) / 60_000).toFixed(1)} min; load average at the end (1, 5, 15 min): ${loadAverage()}.`);
  fs.mkdirSync(settings.resultsDir, { recursive: true });
  const base = path.join(settings.resultsDir, `bench-${startedAt.toISOString().replace(/[:.]/g, '-')}${settings.quick ? '-quick' : ''}`);
  fs.writeFileSync(`${base}.md`, `${sections.join('\n\n')}\n`);
  fs.writeFileSync(
    `${base}.json`,
    JSON.stringify(raw, (key, value) => (key === 'jpeg' ? undefined : value), 2),
  );
  log(`wrote ${base}.md and ${base}.json`);
} finally {
  busy.stop();
  fs.rmSync(workDir, { recursive: true, force: true });
}
