package salesforce

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// SObjectDescribe is the metadata of one object (sobjects/{O}/describe),
// with the keys the mapping needs: its describeGlobal summary, its fields
// and its record types. Values from the cache are shared: treat
// them as read-only.
type SObjectDescribe struct {
	SObjectSummary
	Fields      []Field          `json:"fields"`
	RecordTypes []RecordTypeInfo `json:"recordTypeInfos"`
}

// Field returns the field named name (case-insensitive, as Salesforce
// treats API names).
func (d *SObjectDescribe) Field(name string) (Field, bool) {
	return byName(d.Fields, name, func(f Field) string { return f.Name })
}

// byName returns the item of items whose API name (nameOf) is name,
// case-insensitive as Salesforce treats API names.
func byName[T any](items []T, name string, nameOf func(T) string) (T, bool) {
	if i := slices.IndexFunc(items, func(it T) bool { return strings.EqualFold(nameOf(it), name) }); i >= 0 {
		return items[i], true
	}
	var none T
	return none, false
}

// Field is the metadata of one field.
type Field struct {
	Name               string          `json:"name"`
	Label              string          `json:"label"`
	Type               string          `json:"type"` // id, string, textarea, picklist, reference, boolean, double, date, datetime, email, ...
	Length             int             `json:"length"`
	ByteLength         int             `json:"byteLength"`
	Precision          int             `json:"precision"`
	Scale              int             `json:"scale"`
	Digits             int             `json:"digits"`
	Nillable           bool            `json:"nillable"`
	Createable         bool            `json:"createable"`
	Updateable         bool            `json:"updateable"`
	DefaultedOnCreate  bool            `json:"defaultedOnCreate"`
	Unique             bool            `json:"unique"`
	ExternalID         bool            `json:"externalId"`
	IDLookup           bool            `json:"idLookup"`
	NameField          bool            `json:"nameField"`
	AutoNumber         bool            `json:"autoNumber"`
	Calculated         bool            `json:"calculated"`
	Custom             bool            `json:"custom"`
	Filterable         bool            `json:"filterable"`
	Sortable           bool            `json:"sortable"`
	CaseSensitive      bool            `json:"caseSensitive"`
	HTMLFormatted      bool            `json:"htmlFormatted"`
	RestrictedPicklist bool            `json:"restrictedPicklist"`
	DependentPicklist  bool            `json:"dependentPicklist"`
	ControllerName     string          `json:"controllerName"`
	ReferenceTo        []string        `json:"referenceTo"`
	RelationshipName   string          `json:"relationshipName"`
	PicklistValues     []PicklistValue `json:"picklistValues"`
	SOAPType           string          `json:"soapType"`
	DefaultValue       any             `json:"defaultValue"`
	Deprecated         bool            `json:"deprecatedAndHidden"`
}

// RequiredOnCreate reports whether a create must set the field:
// createable, not nillable and not defaulted on create.
func (f Field) RequiredOnCreate() bool {
	return f.Createable && !f.Nillable && !f.DefaultedOnCreate
}

// Picklist returns the picklist entry whose value is v (exact match, as
// Salesforce compares restricted picklist values).
func (f Field) Picklist(v string) (PicklistValue, bool) {
	for _, p := range f.PicklistValues {
		if p.Value == v {
			return p, true
		}
	}
	return PicklistValue{}, false
}

// PicklistValue is one entry of a picklist field.
type PicklistValue struct {
	Value        string `json:"value"`
	Label        string `json:"label"`
	Active       bool   `json:"active"`
	DefaultValue bool   `json:"defaultValue"`
	ValidFor     string `json:"validFor"`
}

// RecordTypeInfo is one record type of an object.
type RecordTypeInfo struct {
	Name                     string `json:"name"`
	DeveloperName            string `json:"developerName"`
	RecordTypeID             string `json:"recordTypeId"`
	Available                bool   `json:"available"`
	DefaultRecordTypeMapping bool   `json:"defaultRecordTypeMapping"`
	Master                   bool   `json:"master"`
	Active                   bool   `json:"active"`
}

// GlobalDescribe is the describeGlobal answer: every object of the org.
type GlobalDescribe struct {
	Encoding     string           `json:"encoding"`
	MaxBatchSize int              `json:"maxBatchSize"`
	SObjects     []SObjectSummary `json:"sobjects"`
}

// SObject returns the summary of the object named name (case-insensitive).
func (g *GlobalDescribe) SObject(name string) (SObjectSummary, bool) {
	return byName(g.SObjects, name, func(s SObjectSummary) string { return s.Name })
}

// SObjectSummary is one object of describeGlobal.
type SObjectSummary struct {
	Name          string `json:"name"`
	Label         string `json:"label"`
	LabelPlural   string `json:"labelPlural"`
	KeyPrefix     string `json:"keyPrefix"`
	Custom        bool   `json:"custom"`
	Createable    bool   `json:"createable"`
	Updateable    bool   `json:"updateable"`
	Deletable     bool   `json:"deletable"`
	Queryable     bool   `json:"queryable"`
	Searchable    bool   `json:"searchable"`
	Replicateable bool   `json:"replicateable"`
}

// describeTTL is how long a describe answer is reused: long enough that
// describes cost a handful of calls an hour, short enough that a change in
// the org (a longer field, a new picklist value, a new record type) reaches
// the daemon without a restart.
const describeTTL = time.Hour

// cachedDescribe is a describe answer and when it was read.
type cachedDescribe[T any] struct {
	v  T
	at time.Time
}

// fresh reports whether the entry holds an answer younger than describeTTL.
func (e cachedDescribe[T]) fresh(now time.Time) bool {
	return !e.at.IsZero() && now.Sub(e.at) < describeTTL
}

// Describe returns an object's metadata, from the cache when this client
// described the object less than an hour ago. InvalidateDescribe drops
// cached entries sooner.
func (c *Client) Describe(ctx context.Context, object string) (*SObjectDescribe, error) {
	if err := checkName("object", object); err != nil {
		return nil, fmt.Errorf("salesforce describe: %w", err)
	}
	key := strings.ToLower(object)
	return cachedGet(ctx, c, c.DataPath("sobjects", object, "describe"),
		func() cachedDescribe[*SObjectDescribe] { return c.describes[key] },
		func(e cachedDescribe[*SObjectDescribe]) { c.describes[key] = e })
}

// DescribeGlobal lists the org's objects, cached like Describe.
func (c *Client) DescribeGlobal(ctx context.Context) (*GlobalDescribe, error) {
	return cachedGet(ctx, c, c.DataPath("sobjects"),
		func() cachedDescribe[*GlobalDescribe] { return c.global },
		func(e cachedDescribe[*GlobalDescribe]) { c.global = e })
}

// cachedGet returns the answer get finds while it is fresh, else reads path
// and keeps the answer with set. get and set run under describeMu; the read
// does not.
func cachedGet[T any](ctx context.Context, c *Client, path string, get func() cachedDescribe[*T], set func(cachedDescribe[*T])) (*T, error) {
	c.describeMu.Lock()
	e := get()
	c.describeMu.Unlock()
	if e.fresh(c.now()) {
		return e.v, nil
	}
	v := new(T)
	if err := c.getJSON(ctx, OpDescribe, path, nil, v); err != nil {
		return nil, err
	}
	c.describeMu.Lock()
	set(cachedDescribe[*T]{v: v, at: c.now()})
	c.describeMu.Unlock()
	return v, nil
}

// InvalidateDescribe drops the cached describe of the named objects, or of
// every object and the global describe when called with none (e.g. after
// the mapping reports a field Salesforce no longer has).
func (c *Client) InvalidateDescribe(objects ...string) {
	c.describeMu.Lock()
	defer c.describeMu.Unlock()
	if len(objects) == 0 {
		clear(c.describes)
		c.global = cachedDescribe[*GlobalDescribe]{}
		return
	}
	for _, o := range objects {
		delete(c.describes, strings.ToLower(o))
	}
}
