<?php
// A qq-webhook-bridge receiver in plain PHP (8.0+), no extensions beyond the defaults.
//
//   WEBHOOK_SECRET=whsec_... php -S 127.0.0.1:8000 receiver.php
//
// (or behind php-fpm: any path routed to this file). For each POST: verify the signature and timestamp over the
// raw body (401 when they do not hold), dedupe on webhook-id (the bridge retries with the same id when it saw no
// 2xx), process, answer 200. PHP keeps nothing between requests, so the bounded list of processed ids lives in a
// file guarded by flock(); a real service keeps processed ids where its side effects are (a unique key in its
// database). Several secrets (during a rotation) go space-separated in WEBHOOK_SECRET.
//
// With REPLY=1 it also answers each @-message (group.message.at) and direct message (c2c.message.created) with
// {"reply": {"content": "echo: <their text>", "msg_type": 0}}: the bridge sends that to QQ as a reply to the
// message, with its own token, msg_id and msg_seq.

const TOLERANCE_SECONDS = 300;
const MAX_BODY_BYTES = 1048576;
const SEEN_IDS = 10000;

function answer(int $status, array $payload): void
{
    http_response_code($status);
    header('content-type: application/json');
    echo json_encode($payload);
}

/** The HMAC key of a secret: base64-decoded after whsec_, else the string's bytes. */
function secret_key(string $secret): string
{
    return str_starts_with($secret, 'whsec_') ? (string) base64_decode(substr($secret, 6), true) : $secret;
}

/** Null when one v1 signature matches for one of the secrets and the timestamp is fresh, else the reason. */
function verify(array $secrets, string $id, string $ts, string $signatures, string $body): ?string
{
    if ($id === '' || $ts === '' || $signatures === '') {
        return 'missing webhook-id, webhook-timestamp or webhook-signature';
    }
    if (!ctype_digit($ts)) {
        return 'invalid webhook-timestamp';
    }
    if (abs(time() - (int) $ts) > TOLERANCE_SECONDS) {
        return 'webhook-timestamp too far from now';
    }
    foreach ($secrets as $secret) {
        $expected = 'v1,' . base64_encode(hash_hmac('sha256', "$id.$ts.$body", secret_key($secret), true));
        foreach (explode(' ', $signatures) as $signature) {
            if (hash_equals($expected, $signature)) { // constant-time comparison
                return null;
            }
        }
    }
    return 'no matching signature';
}

/** Records $id in the processed list; false when it was already there. */
function claim(string $id): bool
{
    $file = fopen(sys_get_temp_dir() . '/qqwb-receiver-seen.json', 'c+');
    flock($file, LOCK_EX);
    try {
        $seen = json_decode(stream_get_contents($file) ?: '[]', true) ?: [];
        if (in_array($id, $seen, true)) {
            return false;
        }
        $seen[] = $id;
        $seen = array_slice($seen, -SEEN_IDS);
        ftruncate($file, 0);
        rewind($file);
        fwrite($file, json_encode($seen));
        return true;
    } finally {
        flock($file, LOCK_UN);
        fclose($file);
    }
}

/**
 * The reply to send for this event, or null. Derived from the event alone, so a redelivery of the same
 * webhook-id gets the same answer: the bridge stores each reply once, however often it is answered.
 */
function reply_to(array $event): ?array
{
    if (getenv('REPLY') !== '1' || !in_array($event['type'] ?? '', ['group.message.at', 'c2c.message.created'], true)) {
        return null;
    }
    $text = trim((string) ($event['data']['message']['content'] ?? ''));
    return ['content' => "echo: $text", 'msg_type' => 0];
}

/** The 2xx body: {"reply": ...} makes the bridge send a message back; anything else only acknowledges. */
function answer_event(array $event, string $status): void
{
    $reply = reply_to($event);
    answer(200, $reply === null ? ['status' => $status] : ['reply' => $reply]);
}

/** Your business logic goes here. */
function process(array $event): void
{
    $who = $event['data']['group_openid'] ?? $event['data']['user_openid'] ?? '-';
    error_log("event {$event['id']} {$event['type']} $who");
}

if ($_SERVER['REQUEST_METHOD'] === 'GET' && parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH) === '/healthz') {
    answer(200, ['status' => 'ok']);
    return;
}
if ($_SERVER['REQUEST_METHOD'] !== 'POST') {
    answer(405, ['error' => 'method_not_allowed']);
    return;
}
$secrets = preg_split('/\s+/', trim(getenv('WEBHOOK_SECRET') ?: ''), -1, PREG_SPLIT_NO_EMPTY);
if (!$secrets) {
    answer(500, ['error' => 'WEBHOOK_SECRET is not set']);
    return;
}
$body = file_get_contents('php://input', false, null, 0, MAX_BODY_BYTES + 1); // the raw body, as signed
if (strlen($body) > MAX_BODY_BYTES) {
    answer(413, ['error' => 'too_large']);
    return;
}
$id = $_SERVER['HTTP_WEBHOOK_ID'] ?? '';
$reason = verify($secrets, $id, $_SERVER['HTTP_WEBHOOK_TIMESTAMP'] ?? '', $_SERVER['HTTP_WEBHOOK_SIGNATURE'] ?? '', $body);
if ($reason !== null) {
    error_log("rejected $id: $reason");
    answer(401, ['error' => 'invalid_signature']);
    return;
}
$event = json_decode($body, true);
if (!is_array($event)) {
    answer(400, ['error' => 'invalid_json']);
    return;
}
if (!claim($id)) {
    error_log("duplicate $id: already processed");
    answer_event($event, 'duplicate'); // the same reply again: the bridge sends it once
    return;
}
process($event);
answer_event($event, 'ok');
