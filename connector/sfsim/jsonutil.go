package sfsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// kv is one member of an ordered JSON object.
type kv struct {
	K string
	V any
}

// jobj is a JSON object that keeps its key order, as Salesforce's bodies do
// (attributes first, then fields in select or describe order).
type jobj []kv

// MarshalJSON writes the members in order.
func (o jobj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := marshal(m.K)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		v, err := marshal(m.V)
		if err != nil {
			return nil, fmt.Errorf("marshal %s: %w", m.K, err)
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// get returns the value of key k.
func (o jobj) get(k string) (any, bool) {
	for _, m := range o {
		if m.K == k {
			return m.V, true
		}
	}
	return nil, false
}

// with returns o with key k's value v: in k's place when o has k, else
// at the end.
func (o jobj) with(k string, v any) jobj {
	for i, m := range o {
		if m.K == k {
			out := slices.Clone(o)
			out[i].V = v
			return out
		}
	}
	return append(slices.Clone(o), kv{k, v})
}

// insertAfter returns o with ms right after key k (at the end when o has
// no k).
func (o jobj) insertAfter(k string, ms ...kv) jobj {
	at := len(o)
	for i, m := range o {
		if m.K == k {
			at = i + 1
			break
		}
	}
	return slices.Insert(slices.Clone(o), at, ms...)
}

// sfTimeLayout is how the REST API writes date-times.
const sfTimeLayout = "2006-01-02T15:04:05.000-0700"

// formatTime writes t the way Salesforce does: UTC, milliseconds, +0000.
func formatTime(t time.Time) string { return t.UTC().Format(sfTimeLayout) }

// marshal encodes v without escaping <, > and & (Salesforce does not).
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// lineCol turns a byte offset into 1-based line and column numbers, for
// JSON_PARSER_ERROR messages.
func lineCol(data []byte, off int64) (line, col int) {
	line, col = 1, 1
	for i := int64(0); i < off && i < int64(len(data)); i++ {
		if data[i] == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}
