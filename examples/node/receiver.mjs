// A qq-webhook-bridge receiver in Node.js with the `standardwebhooks` package.
//
//   npm install standardwebhooks
//   WEBHOOK_SECRET=whsec_... PORT=8000 node receiver.mjs
//
// For each POST: verify the signature and timestamp over the raw body (401 when they do not hold), dedupe on
// webhook-id (the bridge retries with the same id when it saw no 2xx), process, answer 200. The dedupe set is an
// in-memory LRU; a real service keeps processed ids where its side effects are (a unique key in its database).
//
// With REPLY=1 it also answers each @-message (group.message.at) and direct message (c2c.message.created) with
// {"reply": {"content": "echo: <their text>", "msg_type": 0}}: the bridge sends that to QQ as a reply to the
// message, with its own token, msg_id and msg_seq.
import { createServer } from 'node:http';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';

const secret = process.env.WEBHOOK_SECRET;
if (!secret) {
  console.error("set WEBHOOK_SECRET to the target's secret (whsec_...)");
  process.exit(2);
}
// Webhook.verify also rejects timestamps more than 5 minutes away from now.
const webhook = new Webhook(secret);
const MAX_BODY_BYTES = 1024 * 1024;
const SEEN_IDS = 10_000;
const seen = new Map(); // insertion-ordered: the first key is the least recently used
const REPLY = process.env.REPLY === '1';
const ANSWERED_TYPES = new Set(['group.message.at', 'c2c.message.created']);

function claim(id) {
  if (seen.has(id)) {
    seen.delete(id);
    seen.set(id, true);
    return false;
  }
  seen.set(id, true);
  if (seen.size > SEEN_IDS) seen.delete(seen.keys().next().value);
  return true;
}

function processEvent(event) {
  // Your business logic goes here.
  const who = event.data?.group_openid ?? event.data?.user_openid ?? '-';
  console.log(`event ${event.id} ${event.type} ${who}`);
}

// The reply to send for this event, or undefined. Derived from the event alone, so a redelivery of the same
// webhook-id gets the same answer: the bridge stores each reply once, however often it is answered.
function replyTo(event) {
  if (!REPLY || !ANSWERED_TYPES.has(event.type)) return undefined;
  return { content: `echo: ${String(event.data?.message?.content ?? '').trim()}`, msg_type: 0 };
}

// The 2xx body: {"reply": ...} makes the bridge send a message back; anything else only acknowledges.
function answerEvent(res, event, status) {
  const reply = replyTo(event);
  return answer(res, 200, reply === undefined ? { status } : { reply });
}

function answer(res, status, payload) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
}

const server = createServer(async (req, res) => {
  if (req.method === 'GET' && req.url === '/healthz') return answer(res, 200, { status: 'ok' });
  if (req.method !== 'POST') return answer(res, 405, { error: 'method_not_allowed' });
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return answer(res, 413, { error: 'too_large' });
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks).toString('utf8'); // the raw body: never re-serialize before verifying
  const id = req.headers['webhook-id'];
  let event;
  try {
    event = webhook.verify(body, {
      'webhook-id': id,
      'webhook-timestamp': req.headers['webhook-timestamp'],
      'webhook-signature': req.headers['webhook-signature'],
    });
  } catch (err) {
    if (!(err instanceof WebhookVerificationError)) throw err;
    console.log(`rejected ${id ?? '(no id)'}: ${err.message}`);
    return answer(res, 401, { error: 'invalid_signature' });
  }
  if (!claim(id)) {
    console.log(`duplicate ${id}: already processed`);
    return answerEvent(res, event, 'duplicate'); // the same reply again: the bridge sends it once
  }
  try {
    processEvent(event);
  } catch (err) {
    seen.delete(id); // let the bridge's retry be processed
    console.log(`failed ${id}: ${err.message}`);
    return answer(res, 500, { error: 'processing_failed' });
  }
  return answerEvent(res, event, 'ok');
});

const port = Number(process.env.PORT ?? 8000);
server.listen(port, process.env.HOST ?? '127.0.0.1', () => {
  const { address, port: bound } = server.address();
  console.log(`listening on http://${address}:${bound}`);
});
