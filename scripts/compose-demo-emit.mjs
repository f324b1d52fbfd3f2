// docker-compose.yml's demo profile: makes the QQ simulator push a few events, as QQ would.
//   node scripts/compose-demo-emit.mjs http://simulator:8080
// The simulator holds an event until the bridge's shard is READY, so this may run before the bridge connects; the
// events then reach the demo receiver, which prints one line for each signature it verified.

const origin = process.argv[2] ?? 'http://127.0.0.1:8080';
const GROUP = 'C9F778FE6ADF9D1D1DBE395BF744A33A';
const USER = '7D296480D464EC5C16714E74A43E5BC7';
const now = () => new Date().toISOString();

const EVENTS = [
  {
    t: 'GROUP_ADD_ROBOT',
    d: { group_openid: GROUP, op_member_openid: USER, timestamp: Math.floor(Date.now() / 1000) },
  },
  {
    t: 'GROUP_AT_MESSAGE_CREATE',
    d: {
      id: `ROBOT1.0_compose-demo-${Date.now()}`,
      content: ' hello from the compose demo',
      timestamp: now(),
      author: { id: USER, member_openid: USER, union_openid: USER },
      group_id: GROUP,
      group_openid: GROUP,
      message_type: 0,
    },
  },
  {
    t: 'C2C_MESSAGE_CREATE',
    d: {
      id: `ROBOT1.0_compose-demo-c2c-${Date.now()}`,
      content: 'a direct message',
      timestamp: now(),
      author: { id: USER, user_openid: USER, union_openid: USER },
      message_type: 0,
    },
  },
];

// Compose starts this once the simulator is healthy; a few tries cover a slow first answer, then it gives up.
const ATTEMPTS = 10;
const PAUSE_MS = 1000;

async function emit(event) {
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await fetch(`${origin}/_sim/emit`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(event),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`HTTP ${res.status}: ${text}`);
      console.log(`emitted ${event.t} into the simulator at ${origin}: ${text}`);
      return;
    } catch (err) {
      if (attempt >= ATTEMPTS) throw err;
      await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
    }
  }
}

try {
  for (const event of EVENTS) await emit(event);
  console.log('done: watch them arrive with `docker compose logs -f demo-receiver`');
} catch (err) {
  console.error(
    `could not emit into the simulator at ${origin}: ${err.message}; check \`docker compose logs simulator\``,
  );
  process.exit(1);
}
