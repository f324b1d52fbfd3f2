<?php
// Send a QQ message through the bridge's send API, in plain PHP (8.0+, no extensions beyond the defaults).
//
//   QQWB_API_TOKEN=... php send.php --group GROUP_OPENID --text pong [--reply-to MSG_ID]
//   QQWB_API_TOKEN=... php send.php --user USER_OPENID --text pong
//
// Options: --url (default $QQWB_URL, else http://127.0.0.1:9464), --key (Idempotency-Key, default random),
// --wait (default 5s, at most 30s). The bridge (server.api_tokens set) stores the message in its outbound queue and
// sends it to QQ with the bot's token: it numbers replies (msg_seq), holds sends while the gateway is not connected
// and retries. This script waits up to --wait for QQ's answer and prints the message's status as JSON:
// {"id":"ob_…","status":"sent","attempts":1,"qq":{"id":"ROBOT1.0_…","timestamp":…}}, or {"id":"ob_…","status":"queued"}
// when the send has not finished yet (read it later at GET /v1/messages/{id}). Sending the same request again with
// the same --key (after a timeout, say) answers the same id and sends nothing more. Exit 0 when sent or queued, 1
// when the message failed or the bridge refused it (its error is printed on stderr).

/** POSTs $body to the send API; returns [HTTP status or 0 when no answer came, answer as an array]. */
function send(string $baseUrl, string $token, string $path, array $body, string $key, string $wait): array
{
    $context = stream_context_create(['http' => [
        'method' => 'POST',
        'header' => "authorization: Bearer $token\r\ncontent-type: application/json\r\nidempotency-key: $key\r\n",
        'content' => json_encode($body),
        'timeout' => 60,
        'ignore_errors' => true, // read the body of a 4xx / 5xx too: {"error": {"code", "message", "field"}}
    ]]);
    $text = @file_get_contents(rtrim($baseUrl, '/') . $path . '?' . http_build_query(['wait' => $wait]), false, $context);
    if ($text === false) {
        return [0, ['error' => error_get_last()['message'] ?? 'no answer']];
    }
    // $http_response_header is set by file_get_contents; the last status line is the answer's.
    $statusLines = preg_grep('#^HTTP/#', $http_response_header);
    preg_match('#^HTTP/\S+ (\d{3})#', (string) end($statusLines), $match);
    $answer = json_decode($text, true);
    return [(int) ($match[1] ?? 0), is_array($answer) ? $answer : ['error' => $text]];
}

$options = getopt('', ['group:', 'user:', 'text:', 'reply-to:', 'url:', 'key:', 'wait:']);
$token = getenv('QQWB_API_TOKEN') ?: '';
if ($token === '') {
    fwrite(STDERR, "set QQWB_API_TOKEN to one of the bridge's server.api_tokens\n");
    exit(2);
}
if (!isset($options['text']) || isset($options['group']) === isset($options['user'])) {
    fwrite(STDERR, "usage: php send.php (--group GROUP_OPENID | --user USER_OPENID) --text TEXT [--reply-to MSG_ID]\n");
    exit(2);
}
$path = isset($options['group'])
    ? '/v1/groups/' . rawurlencode($options['group']) . '/messages'
    : '/v1/users/' . rawurlencode($options['user']) . '/messages';
$body = ['content' => $options['text'], 'msg_type' => 0];
if (isset($options['reply-to'])) {
    $body['msg_id'] = $options['reply-to']; // the bridge adds msg_seq
}
$url = $options['url'] ?? (getenv('QQWB_URL') ?: 'http://127.0.0.1:9464');
$key = $options['key'] ?? bin2hex(random_bytes(16));

[$status, $answer] = send($url, $token, $path, $body, $key, $options['wait'] ?? '5s');
if ($status === 0) { // no answer: the message may or may not be stored
    fwrite(STDERR, "no answer from the bridge at $url ({$answer['error']}); retry with --key $key\n");
    exit(1);
}
if ($status >= 400) {
    fwrite(STDERR, "refused (HTTP $status): " . json_encode($answer['error'] ?? $answer) . "\n");
    exit(1);
}
echo json_encode($answer), "\n";
if (($answer['status'] ?? '') === 'failed') {
    fwrite(STDERR, 'failed: ' . json_encode($answer['error'] ?? null) . "\n");
    exit(1);
}
exit(0);
