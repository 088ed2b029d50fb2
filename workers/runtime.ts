import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import { Runtime } from '@temporalio/worker';
import type { Logger } from 'pino';

/** Temporal's logger interface over pino: the SDK's lines, and the workflow and activity context loggers', as JSON. */
export function temporalLogger(log: Logger): TemporalLogger {
  const write = (level: LogLevel, message: string, meta?: LogMetadata) => log[toPino[level]]({ ...meta }, message);
  return {
    log: write,
    trace: (message, meta) => write('TRACE', message, meta),
    debug: (message, meta) => write('DEBUG', message, meta),
    info: (message, meta) => write('INFO', message, meta),
    warn: (message, meta) => write('WARN', message, meta),
    error: (message, meta) => write('ERROR', message, meta),
  };
}

const toPino = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;

/**
 * The SDK's native core logs at WARN (its debug output is a line per poll) unless LOG_LEVEL asks for less (error) or
 * for everything (trace).
 */
function coreLogLevel(level: string): LogLevel {
  if (level === 'trace') return 'TRACE';
  if (level === 'error' || level === 'fatal' || level === 'silent') return 'ERROR';
  return 'WARN';
}

/** Seconds: activities from a store write to a training trial, workflows up to a whole sweep. */
const LONG_DURATION_BUCKETS_S = [0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600, 7200, 14_400];

/**
 * Installs the Temporal runtime of a worker process (before any connection): every log line through `log`, native
 * core's included, and with `metricsAddress` (host:port) the SDK's Prometheus exporter at http://<address>/metrics.
 * Durations are in seconds and counters end in _total, as Prometheus names them; activity and workflow durations get
 * buckets up to hours (the SDK's stop at 10-60 s), since a training trial runs for minutes. The SDK's
 * temporal_activity_execution_latency_seconds already has the activity_type label: no interceptor is needed.
 */
export function installWorkerRuntime(log: Logger, metricsAddress?: string): void {
  Runtime.install({
    logger: temporalLogger(log),
    telemetryOptions: {
      logging: { filter: { core: coreLogLevel(log.level), other: 'ERROR' }, forward: {} },
      ...(metricsAddress && {
        metrics: {
          prometheus: {
            bindAddress: metricsAddress,
            countersTotalSuffix: true,
            unitSuffix: true,
            useSecondsForDurations: true,
            histogramBucketOverrides: {
              activity_execution_latency: LONG_DURATION_BUCKETS_S,
              activity_succeed_endtoend_latency: LONG_DURATION_BUCKETS_S,
              workflow_endtoend_latency: LONG_DURATION_BUCKETS_S,
            },
          },
        },
      }),
    },
  });
}
