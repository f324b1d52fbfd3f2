import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths that may carry secrets anywhere in a log object. pino replaces them before serialization, so a secret
 * passed by mistake in a field never reaches the output.
 */
export const REDACT_PATHS = [
  'token',
  'accessToken',
  'access_token',
  'clientSecret',
  'client_secret',
  'secret',
  'secrets',
  'adminToken',
  'admin_token',
  'password',
  'authorization',
  'headers.authorization',
  '*.token',
  '*.accessToken',
  '*.access_token',
  '*.clientSecret',
  '*.client_secret',
  '*.secret',
  '*.secrets',
  '*.adminToken',
  '*.admin_token',
  '*.password',
  '*.authorization',
  'd.token',
  'payload.d.token',
];

export interface LoggerSettings {
  level?: string;
  /** Human-readable output; defaults to true when stdout is a TTY. */
  pretty?: boolean;
  destination?: NodeJS.WritableStream;
}

/** The single root logger of a process; modules take `logger.child({ component })`. */
export function createLogger(settings: LoggerSettings = {}): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? 'info',
    base: { service: 'qq-webhook-bridge' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  const pretty = settings.pretty ?? process.stdout.isTTY === true;
  if (settings.destination) return pino(options, settings.destination as pino.DestinationStream);
  if (pretty) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: true } } });
  }
  return pino(options);
}

/** A logger that discards everything, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
