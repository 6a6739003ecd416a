package pubsub

import (
	"encoding/hex"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"

	"github.com/hamba/avro/v2"
)

// The field lists of a ChangeEventHeader (changedFields, nulledFields,
// diffFields) travel over the Pub/Sub API as bitmaps, as Salesforce encodes
// them:
//
//   - The first element, "0x" and hex digits, is a bitmap of the event
//     record's top-level fields: bit i (counting from the least significant
//     bit of the whole number) set means the field at position i of the Avro
//     schema is in the list. Position 0 is ChangeEventHeader itself. The hex
//     is big-endian, upper case, whole bytes: fields 2, 5 and 6 give
//     "0x64".
//   - Each further element "P-0x…" is the bitmap of the component fields of
//     the compound field at top-level position P (a nested record such as an
//     address), by their positions in that record. Its fields are named
//     "Parent.Component"; when every component is in the list, the parent's
//     name alone stands for them.
//
// The first element is absent when only compound fields are listed.

// EncodeBitmap is the "0x…" form of a set of field positions ("" for none).
func EncodeBitmap(positions []int) string {
	var n big.Int
	for _, p := range positions {
		n.SetBit(&n, p, 1)
	}
	if n.Sign() == 0 {
		return ""
	}
	return "0x" + strings.ToUpper(hex.EncodeToString(n.Bytes()))
}

// DecodeBitmap reads a "0x…" bitmap into its field positions, ascending.
func DecodeBitmap(bitmap string) ([]int, error) {
	digits, ok := strings.CutPrefix(bitmap, "0x")
	if !ok {
		digits, ok = strings.CutPrefix(bitmap, "0X")
	}
	if !ok || digits == "" {
		return nil, fmt.Errorf("pubsub: bitmap %q: want 0x and hex digits", bitmap)
	}
	var n big.Int
	if _, ok := n.SetString(digits, 16); !ok {
		return nil, fmt.Errorf("pubsub: bitmap %q: want 0x and hex digits", bitmap)
	}
	var out []int
	for i := 0; i < n.BitLen(); i++ {
		if n.Bit(i) == 1 {
			out = append(out, i)
		}
	}
	return out, nil
}

// Bitmap encodes field names (top-level names, "Parent.Component" for a
// compound field's component, or a compound field's own name for all its
// components) as a header field list. An unknown name is an error.
func (s *Schema) Bitmap(names []string) ([]string, error) {
	fields := s.avro.Fields()
	var top []int
	nested := map[int][]int{}
	for _, name := range names {
		parent, comp, isComp := strings.Cut(name, ".")
		pos := fieldPos(fields, parent)
		if pos <= 0 {
			return nil, fmt.Errorf("pubsub: %s has no field %s", s.Name(), name)
		}
		rec := compound(fields[pos])
		switch {
		case rec == nil && isComp:
			return nil, fmt.Errorf("pubsub: %s.%s is not a compound field", s.Name(), parent)
		case rec == nil:
			top = append(top, pos)
		case isComp:
			cp := fieldPos(rec.Fields(), comp)
			if cp < 0 {
				return nil, fmt.Errorf("pubsub: %s has no field %s", s.Name(), name)
			}
			nested[pos] = append(nested[pos], cp)
		default:
			for i := range rec.Fields() {
				nested[pos] = append(nested[pos], i)
			}
		}
	}
	var out []string
	if b := EncodeBitmap(top); b != "" {
		out = append(out, b)
	}
	parents := make([]int, 0, len(nested))
	for p := range nested {
		parents = append(parents, p)
	}
	sort.Ints(parents)
	for _, p := range parents {
		out = append(out, strconv.Itoa(p)+"-"+EncodeBitmap(nested[p]))
	}
	return out, nil
}

// Names decodes a header field list (changedFields, nulledFields or
// diffFields) into field names, in schema order.
func (s *Schema) Names(bitmap []string) ([]string, error) {
	fields := s.avro.Fields()
	var out []string
	for _, elem := range bitmap {
		parent, bits, isComp := strings.Cut(elem, "-")
		if !isComp {
			positions, err := DecodeBitmap(elem)
			if err != nil {
				return nil, err
			}
			for _, p := range positions {
				if p <= 0 || p >= len(fields) {
					return nil, fmt.Errorf("pubsub: bitmap %q: %s has no field at %d", elem, s.Name(), p)
				}
				out = append(out, fields[p].Name())
			}
			continue
		}
		pp, err := strconv.Atoi(parent)
		if err != nil || pp <= 0 || pp >= len(fields) || compound(fields[pp]) == nil {
			return nil, fmt.Errorf("pubsub: bitmap %q: %s has no compound field at %s", elem, s.Name(), parent)
		}
		positions, err := DecodeBitmap(bits)
		if err != nil {
			return nil, err
		}
		comps := compound(fields[pp]).Fields()
		if len(positions) == len(comps) {
			out = append(out, fields[pp].Name())
			continue
		}
		for _, p := range positions {
			if p >= len(comps) {
				return nil, fmt.Errorf("pubsub: bitmap %q: %s has no component at %d", elem, fields[pp].Name(), p)
			}
			out = append(out, fields[pp].Name()+"."+comps[p].Name())
		}
	}
	return out, nil
}

func fieldPos(fields []*avro.Field, name string) int {
	for i, f := range fields {
		if f.Name() == name {
			return i
		}
	}
	return -1
}

// compound is the nested record of a compound field, or nil.
func compound(f *avro.Field) *avro.RecordSchema {
	rec, _ := nonNull(f.Type()).(*avro.RecordSchema)
	return rec
}
