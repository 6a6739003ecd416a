package pubsub

import (
	"fmt"
	"time"

	"github.com/hamba/avro/v2"
)

// codec reads and writes payloads as Salesforce's Java Avro does (array
// blocks carry only their count), and refuses a payload that claims more
// list entries or longer text than an event can hold instead of
// allocating for it.
var codec = avro.Config{
	DisableBlockSizeHeader: true,
	MaxByteSliceSize:       4 << 20, // gRPC's message limit
	MaxSliceAllocSize:      100_000, // entries of one list (recordIds)
}.Freeze()

// Header is a ChangeEventHeader as it travels: the field lists
// (NulledFields, DiffFields, ChangedFields) are bitmaps (see Bitmap);
// Schema.Names reads them.
type Header struct {
	EntityName     string
	RecordIDs      []string
	ChangeType     string
	ChangeOrigin   string
	TransactionKey string
	SequenceNumber int32
	// CommitTimestamp is the commit's time in milliseconds since the epoch.
	CommitTimestamp int64
	CommitNumber    int64
	CommitUser      string
	NulledFields    []string
	DiffFields      []string
	ChangedFields   []string
}

// CommitTime is CommitTimestamp as a time.
func (h Header) CommitTime() time.Time { return time.UnixMilli(h.CommitTimestamp).UTC() }

// Event is one change event: its header and the record's field values by
// name (see Kind for their Go types). A field that is absent or nil is null:
// an UPDATE carries only the fields it changed, a DELETE none.
type Event struct {
	Header Header
	Fields map[string]any
}

// Encode writes an event as the Avro payload of a ProducerEvent. A field the
// schema lacks, or a value of the wrong type, is an error.
func (s *Schema) Encode(ev Event) ([]byte, error) {
	h := ev.Header
	rec := map[string]any{
		"ChangeEventHeader": map[string]any{
			"entityName":      h.EntityName,
			"recordIds":       orEmpty(h.RecordIDs),
			"changeType":      h.ChangeType,
			"changeOrigin":    h.ChangeOrigin,
			"transactionKey":  h.TransactionKey,
			"sequenceNumber":  int(h.SequenceNumber),
			"commitTimestamp": h.CommitTimestamp,
			"commitNumber":    h.CommitNumber,
			"commitUser":      h.CommitUser,
			"nulledFields":    orEmpty(h.NulledFields),
			"diffFields":      orEmpty(h.DiffFields),
			"changedFields":   orEmpty(h.ChangedFields),
		},
	}
	for name := range s.fields {
		rec[name] = nil
	}
	for name, v := range ev.Fields {
		kind, ok := s.fields[name]
		if !ok {
			return nil, fmt.Errorf("pubsub: encode %s: no field %s", s.Name(), name)
		}
		nv, err := normalize(kind, v)
		if err != nil {
			return nil, fmt.Errorf("pubsub: encode %s.%s: %w", s.Name(), name, err)
		}
		switch kind {
		case KindDate: // the codec's form of a logical date
			nv = time.Unix(int64(nv.(int32))*86400, 0).UTC()
		case KindCompound: // the codec's form of a record in a union
			nv = map[string]any{compound(s.field(name)).FullName(): nv}
		}
		rec[name] = nv
	}
	b, err := codec.Marshal(s.avro, rec)
	if err != nil {
		return nil, fmt.Errorf("pubsub: encode %s: %w", s.Name(), err)
	}
	return b, nil
}

// Decode reads an event's Avro payload. Field values come as their kinds'
// Go types (see Kind).
func (s *Schema) Decode(payload []byte) (Event, error) {
	var rec map[string]any
	if err := codec.Unmarshal(s.avro, payload, &rec); err != nil {
		return Event{}, fmt.Errorf("pubsub: decode %s: %w", s.Name(), err)
	}
	hm, _ := rec["ChangeEventHeader"].(map[string]any)
	if hm == nil {
		return Event{}, fmt.Errorf("pubsub: decode %s: no ChangeEventHeader", s.Name())
	}
	ev := Event{Header: Header{
		EntityName:      str(hm["entityName"]),
		RecordIDs:       strs(hm["recordIds"]),
		ChangeType:      str(hm["changeType"]),
		ChangeOrigin:    str(hm["changeOrigin"]),
		TransactionKey:  str(hm["transactionKey"]),
		SequenceNumber:  int32(num(hm["sequenceNumber"])),
		CommitTimestamp: num(hm["commitTimestamp"]),
		CommitNumber:    num(hm["commitNumber"]),
		CommitUser:      str(hm["commitUser"]),
		NulledFields:    strs(hm["nulledFields"]),
		DiffFields:      strs(hm["diffFields"]),
		ChangedFields:   strs(hm["changedFields"]),
	}, Fields: map[string]any{}}
	for name, kind := range s.fields {
		v := unwrapUnion(rec[name])
		if v == nil {
			continue
		}
		if nv, err := normalize(kind, v); err == nil {
			v = nv
		}
		// A type we do not know (a real org's schema may have more) is
		// kept as the codec read it rather than failing the event.
		ev.Fields[name] = v
	}
	return ev, nil
}

// normalize turns a value into the Go type of its kind.
func normalize(kind Kind, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch kind {
	case KindString:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case KindBoolean:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case KindDouble:
		switch n := v.(type) {
		case float64:
			return n, nil
		case float32:
			return float64(n), nil
		case int:
			return float64(n), nil
		case int32:
			return float64(n), nil
		case int64:
			return float64(n), nil
		}
	case KindInt:
		switch n := v.(type) {
		case int:
			return int32(n), nil
		case int32:
			return n, nil
		case int64:
			return int32(n), nil
		}
	case KindDateTime:
		switch n := v.(type) {
		case time.Time:
			return n.UnixMilli(), nil
		case int64:
			return n, nil
		case int:
			return int64(n), nil
		}
	case KindCompound:
		if m, ok := v.(map[string]any); ok {
			return m, nil
		}
	case KindDate:
		switch n := v.(type) {
		case time.Time:
			return int32(n.Unix() / 86400), nil
		case int32:
			return n, nil
		case int:
			return int32(n), nil
		}
	}
	return nil, fmt.Errorf("a %T is not a %s", v, kind)
}

// unwrapUnion reads a generic union value: the Avro decoder gives a record
// in a union as {"full.Name": value}.
func unwrapUnion(v any) any {
	if m, ok := v.(map[string]any); ok && len(m) == 1 {
		for _, inner := range m {
			return inner
		}
	}
	return v
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func strs(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, e := range list {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func num(v any) int64 {
	switch n := v.(type) {
	case int:
		return int64(n)
	case int32:
		return int64(n)
	case int64:
		return n
	}
	return 0
}
