import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/** What a hidden value is replaced with. */
export const REDACTED = '[redacted]';

/**
 * Field names whose values are credentials wherever they appear in a log object, at any depth. Compared
 * lowercased with `_` and `-` removed, so `client_secret`, `clientSecret` and `Client-Secret` are one name.
 */
const SECRET_KEYS = new Set([
  'token',
  'accesstoken',
  'refreshtoken',
  'clientsecret',
  'secret',
  'secrets',
  'admintoken',
  'apitoken',
  'apitokens',
  'password',
  'sentinelpassword',
  'authorization',
  'proxyauthorization',
  'apikey',
  'xapikey',
  'cookie',
  'setcookie',
]);

/** Fields holding HTTP headers: the names stay (they help debugging), every value is hidden. */
const HEADERS_KEY = 'headers';

/** Deeper than this a whole subtree is hidden rather than searched; no log line of ours comes close. */
const MAX_DEPTH = 16;

function normalizedKey(key: string): string {
  return key.toLowerCase().replace(/[-_]/g, '');
}

/** A copy of a parsed log line with every secret-named field and every header value replaced. */
function scrubFields(value: unknown, depth: number): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= MAX_DEPTH) return REDACTED;
  if (Array.isArray(value)) return value.map((item: unknown) => scrubFields(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
    const name = normalizedKey(key);
    if (SECRET_KEYS.has(name)) {
      out[key] = REDACTED;
    } else if (name === HEADERS_KEY && typeof inner === 'object' && inner !== null && !Array.isArray(inner)) {
      out[key] = Object.fromEntries(Object.keys(inner).map((header) => [header, REDACTED]));
    } else {
      out[key] = scrubFields(inner, depth + 1);
    }
  }
  return out;
}

/** Userinfo of any `scheme://user:password@` URL. */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"\\]*@/gi;
/** Values of query parameters named like credentials (`?token=…`, `&api_key=…`, `&sig=…`). */
const URL_SECRET_PARAM =
  /([?&][^\s=&#"\\]*(?:token|secret|key|sig|signature|password|passwd|auth)[^\s=&#"\\]*=)[^\s&#"\\]*/gi;

/**
 * `text` with URL credentials hidden: the userinfo of every URL and the values of query parameters named like
 * credentials. Applied to every finished log line, so it also covers messages and error texts that quote a URL
 * (target URLs, the Redis URL). Neither pattern crosses a quote or a backslash, and the replacement contains
 * neither, so a JSON line stays valid JSON.
 */
export function redactUrlCredentials(text: string): string {
  return text.replace(URL_USERINFO, `$1${REDACTED}@`).replace(URL_SECRET_PARAM, `$1${REDACTED}`);
}

/** `log.format`: `auto` is `pretty` when stdout is a terminal and `json` otherwise (a pipe, a file, a container log). */
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LoggerSettings {
  level?: string;
  /** Default `auto`. */
  format?: LogFormat;
  /** Shorthand for `format` (`false` is `json`), for tests and the demo; `format` wins when both are set. */
  pretty?: boolean;
  destination?: NodeJS.WritableStream;
}

/** Whether `settings` ask for human-readable output on this process's stdout. */
function wantsPretty(settings: LoggerSettings): boolean {
  const format =
    settings.format ?? (settings.pretty === undefined ? 'auto' : settings.pretty ? 'pretty' : 'json');
  return format === 'auto' ? process.stdout.isTTY === true : format === 'pretty';
}

/**
 * Scrubs one finished log line: secret-named fields and header values at any depth, then URL credentials in any
 * text. Working on the serialized line (rather than pino's per-call formatters, which child bindings bypass) means
 * nothing reaches the output unchecked: fields, child bindings, serialized errors and the message alike.
 */
function scrubLine(line: string): string {
  let text = line;
  try {
    const newline = line.endsWith('\n') ? '\n' : '';
    text = `${JSON.stringify(scrubFields(JSON.parse(line), 0))}${newline}`;
  } catch {
    // Not JSON (pino always writes JSON, so this is defensive); the URL pass below still applies.
  }
  return redactUrlCredentials(text);
}

/**
 * The single root logger of a process; modules take `logger.child({ component })`. Secrets are kept out of every
 * line (see {@link scrubLine}): fields named like credentials (`clientSecret`, `secrets`, `authorization`,
 * `token`…) and header values are hidden wherever they are nested, so even `log.info({ config })` is safe, and
 * URL credentials are removed from free text too.
 */
export function createLogger(settings: LoggerSettings = {}): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? 'info',
    base: { service: 'qq-webhook-bridge' },
    hooks: { streamWrite: scrubLine },
  };
  const pretty = wantsPretty(settings);
  if (settings.destination) return pino(options, settings.destination as pino.DestinationStream);
  if (pretty) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: true } } });
  }
  return pino(options);
}

/** How long {@link flushLogger} waits for the output to drain before giving up (an exit must not hang on it). */
const FLUSH_TIMEOUT_MS = 2_000;

/**
 * Resolves once what `logger` buffered is written (pino's `flush`, the replacement of the removed `pino.final`), or
 * after {@link FLUSH_TIMEOUT_MS}; never rejects. Called before `process.exit` so a last fatal line is not lost. A
 * pretty transport's worker also flushes on the process's `exit` event.
 */
export function flushLogger(logger: Logger): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, FLUSH_TIMEOUT_MS);
    timer.unref();
    logger.flush(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** A logger that discards everything, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
