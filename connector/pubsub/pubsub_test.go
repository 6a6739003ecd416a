package pubsub

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
)

func caseSchema(t *testing.T) *Schema {
	t.Helper()
	s, err := CaseChangeEventSchema(Field{"Care_Case_Id__c", KindString}, Field{"Care_Score__c", KindDouble})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCaseChangeEventSchemaIsSalesforceShaped(t *testing.T) {
	s := caseSchema(t)
	if s.Name() != "CaseChangeEvent" {
		t.Fatalf("name %q", s.Name())
	}
	var doc struct {
		Name, Namespace string
		Fields          []struct {
			Name string
			Type any
		}
	}
	if err := json.Unmarshal([]byte(s.JSON()), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Namespace != "com.sforce.eventbus" || doc.Fields[0].Name != "ChangeEventHeader" {
		t.Fatalf("schema %s.%s first field %s", doc.Namespace, doc.Name, doc.Fields[0].Name)
	}
	for _, name := range []string{"Status", "Subject", "Priority", "Description", "ContactId", "OwnerId", "LastModifiedDate", "SystemModstamp", "Care_Case_Id__c"} {
		if !s.HasField(name) {
			t.Errorf("no field %s", name)
		}
	}
	if s.HasField("Id") {
		t.Error("a change event carries the id in recordIds, not a field Id")
	}
	// The id is a fingerprint: the same schema has the same id, another
	// schema another one.
	again := caseSchema(t)
	plain, _ := CaseChangeEventSchema()
	if again.ID() != s.ID() || plain.ID() == s.ID() || len(s.ID()) != 22 {
		t.Fatalf("ids %q %q %q", s.ID(), again.ID(), plain.ID())
	}
	if _, err := CaseChangeEventSchema(Field{"Status", KindString}); err == nil {
		t.Fatal("a field twice was accepted")
	}
}

func TestEventRoundTrip(t *testing.T) {
	s := caseSchema(t)
	changed, err := s.Bitmap([]string{"Status", "LastModifiedDate", "Care_Score__c"})
	if err != nil {
		t.Fatal(err)
	}
	nulled, _ := s.Bitmap([]string{"Description"})
	at := time.Date(2026, 3, 1, 12, 0, 0, 123e6, time.UTC)
	in := Event{
		Header: Header{
			EntityName: "Case", RecordIDs: []string{"500000000000001AAA"}, ChangeType: ChangeUpdate,
			ChangeOrigin: "com/salesforce/api/rest/62.0", TransactionKey: "tx-1", SequenceNumber: 1,
			CommitTimestamp: at.UnixMilli(), CommitNumber: 42, CommitUser: "005000000000001AAA",
			NulledFields: nulled, ChangedFields: changed,
		},
		Fields: map[string]any{"Status": "Working", "LastModifiedDate": at, "Care_Score__c": 3, "IsClosed": false, "Description": nil},
	}
	payload, err := s.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Decode(payload)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"Status": "Working", "LastModifiedDate": at.UnixMilli(), "Care_Score__c": 3.0, "IsClosed": false}
	if !reflect.DeepEqual(out.Fields, want) {
		t.Fatalf("fields %#v, want %#v", out.Fields, want)
	}
	in.Header.DiffFields = []string{}
	if !reflect.DeepEqual(out.Header, in.Header) {
		t.Fatalf("header %+v, want %+v", out.Header, in.Header)
	}
	if !out.Header.CommitTime().Equal(at) {
		t.Fatalf("commit time %v", out.Header.CommitTime())
	}
	names, err := s.Names(out.Header.ChangedFields)
	if err != nil || !reflect.DeepEqual(names, []string{"Status", "LastModifiedDate", "Care_Score__c"}) {
		t.Fatalf("changed %v %v", names, err)
	}
}

func TestEncodeRefusesWhatTheSchemaLacks(t *testing.T) {
	s := caseSchema(t)
	for name, fields := range map[string]map[string]any{
		"unknown field": {"Nope__c": "x"},
		"wrong type":    {"IsClosed": "yes"},
	} {
		if _, err := s.Encode(Event{Header: Header{ChangeType: ChangeCreate}, Fields: fields}); err == nil {
			t.Errorf("%s: encoded", name)
		}
	}
	if _, err := s.Encode(Event{Header: Header{ChangeType: "MERGE"}}); err == nil {
		t.Error("a change type outside the enum was encoded")
	}
	if _, err := s.Decode([]byte{0xff, 0xff}); err == nil {
		t.Error("garbage decoded")
	}
}

func TestBitmapFormat(t *testing.T) {
	for _, tc := range []struct {
		positions []int
		hex       string
	}{
		{[]int{2, 5, 6}, "0x64"},
		{[]int{1}, "0x02"},
		{[]int{4}, "0x10"},
		{[]int{5, 6, 7, 10, 26, 29, 30}, "0x640004E0"},
		{[]int{0, 8}, "0x0101"},
		{nil, ""},
	} {
		if got := EncodeBitmap(tc.positions); got != tc.hex {
			t.Errorf("EncodeBitmap(%v) = %q, want %q", tc.positions, got, tc.hex)
		}
		if tc.hex == "" {
			continue
		}
		got, err := DecodeBitmap(tc.hex)
		if err != nil || !reflect.DeepEqual(got, tc.positions) {
			t.Errorf("DecodeBitmap(%q) = %v, %v", tc.hex, got, err)
		}
	}
	// Salesforce's documented example decodes, lower case too.
	got, err := DecodeBitmap("0x650004e0")
	if err != nil || !reflect.DeepEqual(got, []int{5, 6, 7, 10, 24, 26, 29, 30}) {
		t.Fatalf("documented example: %v %v", got, err)
	}
	for _, bad := range []string{"", "0x", "650004E0", "0xZZ", "3-0x01"} {
		if _, err := DecodeBitmap(bad); err == nil {
			t.Errorf("DecodeBitmap(%q) accepted", bad)
		}
	}
}

// A real org's schema with a compound field (a contact's Name) exercises the
// "P-0x…" form.
const contactSchemaJSON = `{"type":"record","name":"ContactChangeEvent","namespace":"com.sforce.eventbus","fields":[
 {"name":"ChangeEventHeader","type":{"type":"record","name":"ChangeEventHeader","fields":[
  {"name":"entityName","type":"string"},{"name":"recordIds","type":{"type":"array","items":"string"}},
  {"name":"changeType","type":{"type":"enum","name":"ChangeType","symbols":["CREATE","UPDATE","DELETE","UNDELETE","GAP_CREATE","GAP_UPDATE","GAP_DELETE","GAP_UNDELETE","GAP_OVERFLOW"]}},
  {"name":"changeOrigin","type":"string"},{"name":"transactionKey","type":"string"},{"name":"sequenceNumber","type":"int"},
  {"name":"commitTimestamp","type":"long"},{"name":"commitNumber","type":"long"},{"name":"commitUser","type":"string"},
  {"name":"nulledFields","type":{"type":"array","items":"string"}},{"name":"diffFields","type":{"type":"array","items":"string"}},
  {"name":"changedFields","type":{"type":"array","items":"string"}}]}},
 {"name":"AccountId","type":["null","string"],"default":null},
 {"name":"Name","type":["null",{"type":"record","name":"Switchable_PersonName","fields":[
  {"name":"Salutation","type":["null","string"],"default":null},{"name":"FirstName","type":["null","string"],"default":null},
  {"name":"LastName","type":["null","string"],"default":null}]}],"default":null},
 {"name":"Email","type":["null","string"],"default":null},
 {"name":"Birthdate","type":["null",{"type":"int","logicalType":"date"}],"default":null},
 {"name":"Photo","type":["null","bytes"],"default":null}]}`

func TestBitmapCompoundFields(t *testing.T) {
	s, err := ParseSchema(contactSchemaJSON)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		names  []string
		bitmap []string
		back   []string
	}{
		{[]string{"Email", "Name.LastName"}, []string{"0x08", "2-0x04"}, []string{"Email", "Name.LastName"}},
		{[]string{"Name.FirstName", "Name.LastName"}, []string{"2-0x06"}, nil},
		{[]string{"Name"}, []string{"2-0x07"}, nil},
		{[]string{"AccountId", "Birthdate"}, []string{"0x12"}, nil},
	} {
		bm, err := s.Bitmap(tc.names)
		if err != nil || !reflect.DeepEqual(bm, tc.bitmap) {
			t.Errorf("Bitmap(%v) = %v, %v; want %v", tc.names, bm, err, tc.bitmap)
			continue
		}
		back := tc.back
		if back == nil {
			back = tc.names
		}
		if got, err := s.Names(bm); err != nil || !reflect.DeepEqual(got, back) {
			t.Errorf("Names(%v) = %v, %v; want %v", bm, got, err, back)
		}
	}
	for _, bad := range [][]string{{"Nope"}, {"Email.Local"}, {"Name.Middle"}, {"ChangeEventHeader"}} {
		if _, err := s.Bitmap(bad); err == nil {
			t.Errorf("Bitmap(%v) accepted", bad)
		}
	}
	for _, bad := range [][]string{{"0x40"}, {"1-0x01"}, {"2-0x10"}, {"x-0x01"}, {"0x01"}} {
		if _, err := s.Names(bad); err == nil {
			t.Errorf("Names(%v) accepted", bad)
		}
	}
	// A date field decodes as days since the epoch, a compound field as
	// its components.
	ev := Event{Header: Header{ChangeType: ChangeCreate}, Fields: map[string]any{
		"Birthdate": time.Date(1970, 1, 11, 0, 0, 0, 0, time.UTC),
		"Name":      map[string]any{"FirstName": "Ada", "LastName": "Lovelace"},
	}}
	p, err := s.Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Decode(p)
	if err != nil || got.Fields["Birthdate"] != int32(10) {
		t.Fatalf("date: %#v %v", got.Fields, err)
	}
	if want := map[string]any{"FirstName": "Ada", "LastName": "Lovelace", "Salutation": nil}; !reflect.DeepEqual(got.Fields["Name"], want) {
		t.Fatalf("compound: %#v", got.Fields["Name"])
	}
	// A type without a kind decodes as the codec reads it.
	raw, err := avro.Marshal(s.avro, map[string]any{"ChangeEventHeader": map[string]any{
		"entityName": "Contact", "recordIds": []string{}, "changeType": "UPDATE", "changeOrigin": "", "transactionKey": "",
		"sequenceNumber": 1, "commitTimestamp": int64(1), "commitNumber": int64(1), "commitUser": "",
		"nulledFields": []string{}, "diffFields": []string{}, "changedFields": []string{"0x20"},
	}, "Photo": []byte{1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Decode(raw); err != nil || !reflect.DeepEqual(got.Fields["Photo"], []byte{1, 2}) {
		t.Fatalf("bytes: %#v %v", got.Fields, err)
	}
	if _, err := ChangeEventSchema("Contact", []Field{{"Name", KindCompound}}); err == nil {
		t.Fatal("a compound field without its components was accepted")
	}
}

func TestParseSchemaRefusesWhatIsNoChangeEvent(t *testing.T) {
	for _, bad := range []string{`"string"`, `{"type":"record","name":"X","fields":[{"name":"a","type":"string"}]}`, `{`} {
		if _, err := ParseSchema(bad); err == nil || !strings.HasPrefix(err.Error(), "pubsub: ") {
			t.Errorf("ParseSchema(%s) = %v", bad, err)
		}
	}
}

// FuzzBitmap: any header field list either fails to decode or decodes to
// names that encode and decode back to the same names.
func FuzzBitmap(f *testing.F) {
	for _, seed := range []string{"0x64", "0x650004E0", "2-0x04", "0x08|2-0x06", "0x", "x-0x1", "0x01", "0x08|0x08"} {
		f.Add(seed)
	}
	s, err := ParseSchema(contactSchemaJSON)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if positions, err := DecodeBitmap(in); err == nil {
			if back, err := DecodeBitmap(EncodeBitmap(positions)); len(positions) > 0 && (err != nil || !reflect.DeepEqual(back, positions)) {
				t.Fatalf("%q: %v then %v %v", in, positions, back, err)
			}
		}
		names, err := s.Names(strings.Split(in, "|"))
		if err != nil {
			return
		}
		bm, err := s.Bitmap(names)
		if err != nil {
			t.Fatalf("%q: names %v do not encode: %v", in, names, err)
		}
		again, err := s.Names(bm)
		if err != nil || !sameSet(again, names) {
			t.Fatalf("%q: %v -> %v -> %v %v", in, names, bm, again, err)
		}
	})
}

// sameSet: a and b hold the same names (repeats aside).
func sameSet(a, b []string) bool {
	set := func(l []string) map[string]bool {
		m := map[string]bool{}
		for _, s := range l {
			m[s] = true
		}
		return m
	}
	return reflect.DeepEqual(set(a), set(b))
}

// FuzzDecode: any payload decodes or fails; it never panics.
func FuzzDecode(f *testing.F) {
	s, err := CaseChangeEventSchema(Field{"Care_Case_Id__c", KindString})
	if err != nil {
		f.Fatal(err)
	}
	seed, err := s.Encode(Event{Header: Header{EntityName: "Case", RecordIDs: []string{"500000000000001AAA"}, ChangeType: ChangeUpdate}, Fields: map[string]any{"Status": "New"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, payload []byte) {
		if ev, err := s.Decode(payload); err == nil && ev.Fields == nil {
			t.Fatal("decoded without fields")
		}
	})
}
