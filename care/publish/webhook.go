package publish

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/carebridge/carebridge/care"
)

// The webhook's wire format (SPEC §16).

// Headers of every delivery.
const (
	HeaderSignature = "X-Carebridge-Signature"
	HeaderTimestamp = "X-Carebridge-Timestamp"
	HeaderDelivery  = "X-Carebridge-Delivery" // the body's delivery_id, for logs on the publisher's side
)

// Sign is the X-Carebridge-Signature value of body sent at timestamp (Unix
// seconds, as in X-Carebridge-Timestamp): "sha256=" and the hex HMAC-SHA256
// of "<timestamp>.<body>" with secret.
func Sign(secret []byte, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(timestamp))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify reports whether signature is Sign(secret, timestamp, body), in
// constant time. A publisher should also refuse old timestamps.
func Verify(secret []byte, timestamp string, body []byte, signature string) bool {
	return hmac.Equal([]byte(Sign(secret, timestamp, body)), []byte(signature))
}

// Body is the JSON a delivery POSTs.
type Body struct {
	DeliveryID string         `json:"delivery_id"`
	CaseID     int64          `json:"case_id"`
	Message    BodyMessage    `json:"message"`
	Customer   BodyCustomer   `json:"customer"`
	ProfileID  string         `json:"profile_id"`
	ReplyType  care.ReplyType `json:"reply_type"`
	InReplyTo  *string        `json:"in_reply_to"` // the platform id of the customer message answered; null when none
}

// BodyMessage is the reply itself.
type BodyMessage struct {
	ID          string            `json:"id"`
	ExternalKey string            `json:"external_key"`
	Platform    string            `json:"platform"`
	Type        care.MessageType  `json:"type"`
	Author      string            `json:"author"`
	AuthorID    string            `json:"author_id"`
	Text        string            `json:"text"`
	SentAt      time.Time         `json:"sent_at"`
	Attachments []care.Attachment `json:"attachments"`
}

// BodyCustomer is who the reply goes to: the customer's identity, no
// email and no Salesforce contact.
type BodyCustomer = care.CustomerIdentity

// BodyOf is the body a publication is sent with.
func BodyOf(p care.Publication) Body {
	m, c := p.Message, p.Customer
	att := m.Attachments
	if att == nil {
		att = []care.Attachment{}
	}
	b := Body{
		DeliveryID: p.DeliveryID, CaseID: p.CaseID, ProfileID: m.ProfileID, ReplyType: m.ReplyType,
		Message: BodyMessage{ID: m.ID, ExternalKey: m.ExternalKey, Platform: m.Platform, Type: m.Type,
			Author: m.Author, AuthorID: m.AuthorID, Text: m.Text, SentAt: m.SentAt.UTC(), Attachments: att},
		Customer: c.CustomerIdentity,
	}
	if p.InReplyTo != "" {
		r := p.InReplyTo
		b.InReplyTo = &r
	}
	return b
}

// Answer is what a publisher answers a delivery it took.
type Answer struct {
	ExternalID string `json:"external_id"`
}

// outcome classifies one attempt.
type outcome int

const (
	outcomeSent    outcome = iota
	outcomeRetry           // 5xx, 408, 429, a network error: try again later
	outcomeRefused         // any other answer: a person must look
)

// result is one attempt's outcome.
type result struct {
	outcome    outcome
	externalID string
	reason     string        // why it was not sent (no secrets: the publisher's own text)
	retryAfter time.Duration // the publisher's Retry-After, 0 when none
}

// maxAnswerBytes bounds what is read of a publisher's answer.
const maxAnswerBytes = 64 << 10

// post sends one delivery and classifies the answer.
func (p *Publisher) post(ctx context.Context, pub care.Publication) result {
	body, err := json.Marshal(BodyOf(pub))
	if err != nil {
		return result{outcome: outcomeRefused, reason: "encode: " + err.Error()}
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return result{outcome: outcomeRefused, reason: "build request: " + err.Error()}
	}
	ts := strconv.FormatInt(p.now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "carebridge-publisher")
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Sign(p.secret, ts, body))
	req.Header.Set(HeaderDelivery, pub.DeliveryID)
	resp, err := p.client.Do(req)
	if err != nil {
		return result{outcome: outcomeRetry, reason: "publisher unreachable: " + networkReason(err)}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		var a Answer
		if len(bytes.TrimSpace(raw)) > 0 {
			_ = json.Unmarshal(raw, &a) // a 2xx took the reply, whatever its body
		}
		return result{outcome: outcomeSent, externalID: strings.TrimSpace(a.ExternalID)}
	case code >= 500 || code == http.StatusRequestTimeout || code == http.StatusTooManyRequests:
		return result{outcome: outcomeRetry, reason: answerText(resp.Status, raw), retryAfter: retryAfter(resp.Header)}
	default:
		return result{outcome: outcomeRefused, reason: answerText(resp.Status, raw)}
	}
}

// answerText is "<status>: <the answer's text>", the text cut to
// care.MaxDeliveryError bytes and made valid UTF-8 on one line.
func answerText(status string, raw []byte) string {
	text := strings.ToValidUTF8(string(bytes.TrimSpace(raw)), "\uFFFD")
	text = strings.Join(strings.Fields(text), " ")
	if text == "" {
		return "publisher answered " + status
	}
	out := "publisher answered " + status + ": " + text
	if len(out) > care.MaxDeliveryError {
		cut := care.MaxDeliveryError
		for cut > 0 && !utf8.RuneStart(out[cut]) {
			cut--
		}
		out = out[:cut]
	}
	return out
}

// networkReason is a transport error without the URL (url.Error names it).
func networkReason(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out"
	}
	return err.Error()
}

// retryAfter reads a Retry-After of seconds (0 when absent or a date).
func retryAfter(h http.Header) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(h.Get("Retry-After")))
	if err != nil || n <= 0 {
		return 0
	}
	return time.Duration(n) * time.Second
}

// String names an outcome as the metric's result label does.
func (o outcome) String() string {
	switch o {
	case outcomeSent:
		return ResultSent
	case outcomeRetry:
		return ResultRetry
	}
	return ResultFailed
}

// errNoURL is New's refusal of an empty webhook URL.
var errNoURL = fmt.Errorf("publish: URL is required")
