/**
 * Loop-wakeup attribution: counts event-loop iterations and, for each one, names the callback that ran first in
 * it, so "N iterations per delivered event" can be split into "Redis reply", "receiver socket", "timer X",
 * "setImmediate Y"… Load it into any Node ≥ 20.18 process:
 *
 *   node --import ./bench/loop-wakeups.mjs dist/cli.js run -c bridge.yaml
 *
 * Each `kill -USR2 <pid>` dumps what was counted since the previous dump (or since start) and starts a new
 * window; the process's exit dumps the last window. Send one USR2 before a burst and one after it to measure the
 * burst alone. Environment:
 *
 *   LOOP_WAKEUPS_FILE=/path   append each dump as one JSON line there (default: a table on stderr)
 *   LOOP_WAKEUPS_PORTS=6379=redis,4000=receiver   names for TCP peer (or local) ports in the labels
 *   LOOP_WAKEUPS_HOOKS=0      count iterations and CPU only, no async_hooks (for CPU figures without overhead)
 *   LOOP_WAKEUPS_STACKS=1     label timers and immediates with the first application frame that created them
 *
 * How: libuv counts an iteration just before it polls, so every callback of one iteration (I/O, setImmediate,
 * timers) sees the same `loopCount`. The async_hooks `before` of a macrotask whose loopCount differs from the
 * previous macrotask's is the first callback of a new iteration. Promise reactions, nextTicks and queueMicrotask
 * callbacks only ever run after a macrotask, so they never start one. Iterations in which no JavaScript callback
 * ran (a wakeup handled inside Node, or a poll timeout with nothing due) are counted as `(no js callback)`.
 * The hooks slow the process noticeably: use them to attribute, and LOOP_WAKEUPS_HOOKS=0 for CPU.
 */
import { createHook } from 'node:async_hooks';
import { appendFileSync } from 'node:fs';

const MICROTASK_TYPES = new Set(['PROMISE', 'TickObject', 'Microtask']);
const env = process.env;
const toFile = env.LOOP_WAKEUPS_FILE;
const withHooks = env.LOOP_WAKEUPS_HOOKS !== '0';
const withStacks = env.LOOP_WAKEUPS_STACKS === '1';
const portNames = new Map(
  (env.LOOP_WAKEUPS_PORTS ?? '')
    .split(',')
    .filter((pair) => pair.includes('='))
    .map((pair) => {
      const [port, name] = pair.split('=');
      return [Number(port), name];
    }),
);

const uvMetrics = () => performance.nodeTiming.uvMetricsInfo;
const loopCount = () => uvMetrics().loopCount;

/** asyncId → { type, resource, label (once known), origin (creation frame, with LOOP_WAKEUPS_STACKS) }. */
const resources = new Map();
/** label → iterations it started, and label → macrotask callbacks it ran in total, in this window. */
let firsts = new Map();
let callbacks = new Map();
let lastLoop = loopCount();
let window = { loops: lastLoop, events: uvMetrics().events, cpu: process.cpuUsage(), at: performance.now() };

function portLabel(port) {
  const name = portNames.get(port);
  return name === undefined ? String(port) : `${port} ${name}`;
}

/** TCP: the peer port (which Redis, receiver or gateway socket), or the local port of a listening socket. */
function tcpLabel(resource) {
  const out = {};
  if (typeof resource.getpeername === 'function' && resource.getpeername(out) === 0 && out.port) {
    return { label: `TCPWRAP peer ${portLabel(out.port)}`, final: true };
  }
  const local = {};
  if (typeof resource.getsockname === 'function' && resource.getsockname(local) === 0 && local.port) {
    // a listening socket, or a client socket not connected yet (then asked again next time)
    return { label: `TCPWRAP local ${portLabel(local.port)}`, final: false };
  }
  return { label: 'TCPWRAP (unconnected)', final: false };
}

function callbackLabel(type, callback, resource) {
  const name = callback?.name || 'anonymous';
  const ms = type === 'Timeout' ? ` ${resource._idleTimeout}ms${resource._repeat ? ' repeat' : ''}` : '';
  return `${type} ${name}${ms}`;
}

/** The first stack frame outside Node's internals and this file: who created the timer or immediate. */
function creationFrame() {
  const stack = new Error().stack?.split('\n').slice(1) ?? [];
  const frame = stack.find((line) => !line.includes('node:') && !line.includes('loop-wakeups.mjs'));
  if (!frame) return '';
  const at = frame.trim().replace(/^at /, '');
  return at.replace(/^.*\/node_modules\//, '').replace(/^.*\/(dist|src|bench)\//, '$1/');
}

function labelOf(entry) {
  if (entry.label !== undefined) return entry.label;
  const { type, resource } = entry;
  let label = type;
  let final = true;
  if (type === 'TCPWRAP') ({ label, final } = tcpLabel(resource));
  else if (type === 'Timeout') label = callbackLabel(type, resource._onTimeout, resource);
  else if (type === 'Immediate') label = callbackLabel(type, resource._onImmediate, resource);
  if (entry.origin) label += ` @ ${entry.origin}`;
  if (final) entry.label = label;
  return label;
}

function bump(map, key) {
  map.set(key, (map.get(key) ?? 0) + 1);
}

if (withHooks) {
  createHook({
    init(asyncId, type, _triggerAsyncId, resource) {
      if (MICROTASK_TYPES.has(type)) return;
      const entry = { type, resource, label: undefined, origin: undefined };
      // Timers are re-armed (refresh) under the same id, so their label, taken once, stays right.
      if (withStacks && (type === 'Timeout' || type === 'Immediate')) entry.origin = creationFrame();
      resources.set(asyncId, entry);
    },
    before(asyncId) {
      const entry = resources.get(asyncId);
      if (entry === undefined) return; // a microtask, or created before the hook
      const label = labelOf(entry);
      bump(callbacks, label);
      const now = loopCount();
      if (now === lastLoop) return;
      lastLoop = now;
      bump(firsts, label);
    },
    destroy(asyncId) {
      resources.delete(asyncId);
    },
  }).enable();
}

function sorted(map) {
  return [...map.entries()].sort((a, b) => b[1] - a[1]);
}

/** What was counted since the previous dump; starts the next window. */
function takeWindow(reason) {
  const loops = loopCount() - window.loops;
  const cpu = process.cpuUsage(window.cpu);
  const attributed = [...firsts.values()].reduce((sum, n) => sum + n, 0);
  if (withHooks && loops > attributed) firsts.set('(no js callback)', loops - attributed);
  const dump = {
    pid: process.pid,
    reason,
    wallMs: Math.round(performance.now() - window.at),
    loops,
    /** Events libuv's poll returned (file descriptors ready, summed over the iterations). */
    pollEvents: uvMetrics().events - window.events,
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    firsts: Object.fromEntries(sorted(firsts)),
    callbacks: Object.fromEntries(sorted(callbacks)),
  };
  firsts = new Map();
  callbacks = new Map();
  window = { loops: loopCount(), events: uvMetrics().events, cpu: process.cpuUsage(), at: performance.now() };
  return dump;
}

function table(dump) {
  const lines = [
    `loop-wakeups pid ${dump.pid} (${dump.reason}): ${dump.loops} iterations (${dump.pollEvents} poll events) ` +
      `in ${dump.wallMs} ms, ` +
      `cpu user ${Math.round(dump.cpuUserUs / 1000)} ms + system ${Math.round(dump.cpuSystemUs / 1000)} ms`,
  ];
  if (withHooks) {
    lines.push('  iterations  first callback of the iteration');
    for (const [label, n] of Object.entries(dump.firsts)) lines.push(`  ${String(n).padStart(10)}  ${label}`);
    lines.push('   callbacks  every macrotask callback');
    for (const [label, n] of Object.entries(dump.callbacks))
      lines.push(`  ${String(n).padStart(10)}  ${label}`);
  }
  return lines.join('\n') + '\n';
}

function report(reason) {
  const dump = takeWindow(reason);
  if (toFile) appendFileSync(toFile, JSON.stringify(dump) + '\n');
  else process.stderr.write(table(dump));
}

process.on('SIGUSR2', () => report('SIGUSR2'));
process.on('exit', () => report('exit'));
