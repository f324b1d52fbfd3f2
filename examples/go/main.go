// A qq-webhook-bridge receiver in Go with the standard library only (net/http, crypto/hmac).
//
//	WEBHOOK_SECRET=whsec_... go run . -addr 127.0.0.1:8000
//
// For each POST: verify the signature and timestamp over the raw body (401 when they do not hold), dedupe on
// webhook-id (the bridge retries with the same id when it saw no 2xx), process, answer 200. The dedupe set is an
// in-memory LRU; a real service keeps processed ids where its side effects are (a unique key in its database).
// Several secrets (during a rotation) go space-separated in WEBHOOK_SECRET.
//
// With REPLY=1 it also answers each @-message (group.message.at) and direct message (c2c.message.created) with
// {"reply": {"content": "echo: <their text>", "msg_type": 0}}: the bridge sends that to QQ as a reply to the
// message, with its own token, msg_id and msg_seq.
package main

import (
	"container/list"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	tolerance    = 5 * time.Minute
	maxBodyBytes = 1 << 20
	seenIDs      = 10000
)

// key decodes a whsec_ secret to its HMAC key; any other string is used as its UTF-8 bytes.
func key(secret string) ([]byte, error) {
	if strings.HasPrefix(secret, "whsec_") {
		return base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	}
	return []byte(secret), nil
}

// verify returns nil when one v1 signature matches HMAC-SHA256(key, "<id>.<timestamp>.<body>") for one of the
// keys and the timestamp is within tolerance of now.
func verify(keys [][]byte, id, timestamp, signatures string, body []byte, now time.Time) error {
	if id == "" || timestamp == "" || signatures == "" {
		return errors.New("missing webhook-id, webhook-timestamp or webhook-signature")
	}
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return errors.New("invalid webhook-timestamp")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return errors.New("webhook-timestamp too far from now")
	}
	for _, k := range keys {
		mac := hmac.New(sha256.New, k)
		mac.Write([]byte(id + "." + timestamp + "."))
		mac.Write(body)
		expected := mac.Sum(nil)
		for _, part := range strings.Fields(signatures) {
			version, value, ok := strings.Cut(part, ",")
			if !ok || version != "v1" {
				continue
			}
			presented, err := base64.StdEncoding.DecodeString(value)
			if err == nil && hmac.Equal(presented, expected) { // constant-time comparison
				return nil
			}
		}
	}
	return errors.New("no matching signature")
}

// lru is a bounded set of processed webhook-ids.
type lru struct {
	mu    sync.Mutex
	order *list.List
	items map[string]*list.Element
}

func newLRU() *lru { return &lru{order: list.New(), items: map[string]*list.Element{}} }

// claim records id and reports whether it was new; atomic, so two concurrent retries are processed once.
func (l *lru) claim(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if el, ok := l.items[id]; ok {
		l.order.MoveToFront(el)
		return false
	}
	l.items[id] = l.order.PushFront(id)
	if l.order.Len() > seenIDs {
		oldest := l.order.Back()
		l.order.Remove(oldest)
		delete(l.items, oldest.Value.(string))
	}
	return true
}

func (l *lru) forget(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if el, ok := l.items[id]; ok {
		l.order.Remove(el)
		delete(l.items, id)
	}
}

type envelope struct {
	ID   string         `json:"id"`
	Type string         `json:"type"`
	Data map[string]any `json:"data"`
}

// process is where your business logic goes.
func process(e envelope) error {
	who, _ := e.Data["group_openid"].(string)
	if who == "" {
		who, _ = e.Data["user_openid"].(string)
	}
	fmt.Printf("event %s %s %s\n", e.ID, e.Type, who)
	return nil
}

// replyTo is the reply to send for this event, or nil. Derived from the event alone, so a redelivery of the same
// webhook-id gets the same answer: the bridge stores each reply once, however often it is answered.
func replyTo(e envelope, enabled bool) map[string]any {
	if !enabled || (e.Type != "group.message.at" && e.Type != "c2c.message.created") {
		return nil
	}
	message, _ := e.Data["message"].(map[string]any)
	content, _ := message["content"].(string)
	return map[string]any{"content": "echo: " + strings.TrimSpace(content), "msg_type": 0}
}

// answerEvent writes the 2xx body: {"reply": ...} makes the bridge send a message back; anything else only
// acknowledges.
func answerEvent(w http.ResponseWriter, e envelope, reply bool, status string) {
	if r := replyTo(e, reply); r != nil {
		answer(w, http.StatusOK, map[string]any{"reply": r})
		return
	}
	answer(w, http.StatusOK, map[string]string{"status": status})
}

func answer(w http.ResponseWriter, status int, payload any) {
	w.Header().Set("content-type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(payload)
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8000", "address to listen on (0.0.0.0:8000 in a container)")
	flag.Parse()
	var keys [][]byte
	for _, secret := range strings.Fields(os.Getenv("WEBHOOK_SECRET")) {
		k, err := key(secret)
		if err != nil {
			log.Fatalf("WEBHOOK_SECRET: %v", err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		log.Fatal("set WEBHOOK_SECRET to the target's secret (whsec_...)")
	}
	seen := newLRU()
	reply := os.Getenv("REPLY") == "1"

	http.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		answer(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			answer(w, http.StatusMethodNotAllowed, map[string]string{"error": "method_not_allowed"})
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes)) // the raw body, as signed
		if err != nil {
			answer(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "too_large"})
			return
		}
		id := r.Header.Get("webhook-id")
		err = verify(keys, id, r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature"), body, time.Now())
		if err != nil {
			fmt.Printf("rejected %s: %v\n", id, err)
			answer(w, http.StatusUnauthorized, map[string]string{"error": "invalid_signature"})
			return
		}
		var e envelope
		if err := json.Unmarshal(body, &e); err != nil {
			answer(w, http.StatusBadRequest, map[string]string{"error": "invalid_json"})
			return
		}
		if !seen.claim(id) {
			fmt.Printf("duplicate %s: already processed\n", id)
			answerEvent(w, e, reply, "duplicate") // the same reply again: the bridge sends it once
			return
		}
		if err := process(e); err != nil {
			seen.forget(id) // let the bridge's retry be processed
			answer(w, http.StatusInternalServerError, map[string]string{"error": "processing_failed"})
			return
		}
		answerEvent(w, e, reply, "ok")
	})
	log.Printf("listening on http://%s", *addr)
	log.Fatal(http.ListenAndServe(*addr, nil))
}
