/**
 * The runtime's logger: pino, JSON, one line per event. Reconcile lines carry `controller`,
 * `namespace`, `name` and `reconcileID` (the controller adds them with `logger.child`).
 */
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

export interface LoggerFactoryOptions {
  level?: string;
  /** Keys on every line (e.g. `{ component: 'operator' }`). */
  base?: Record<string, unknown>;
  /** Where the lines go (default stdout). Tests pass a stream to read them back. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(o: LoggerFactoryOptions = {}): Logger {
  const options: LoggerOptions = {
    level: o.level ?? process.env.LOG_LEVEL ?? 'info',
    base: { ...(o.base ?? {}) },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  return o.destination ? pino(options, o.destination) : pino(options);
}

/** A logger that drops everything (tests, benchmarks). */
export const silentLogger = (): Logger => pino({ level: 'silent' });
