package sfsim

import (
	"fmt"
	"sort"
	"strings"
)

// Field types, as describe names them.
const (
	typeID            = "id"
	typeString        = "string"
	typeTextarea      = "textarea"
	typeEmail         = "email"
	typePhone         = "phone"
	typeURL           = "url"
	typePicklist      = "picklist"
	typeMultipicklist = "multipicklist"
	typeBoolean       = "boolean"
	typeDouble        = "double"
	typeInt           = "int"
	typeCurrency      = "currency"
	typePercent       = "percent"
	typeDate          = "date"
	typeDateTime      = "datetime"
	typeReference     = "reference"
)

// picklistValue is one entry of a picklist field.
type picklistValue struct {
	Value        string
	Label        string
	Active       bool
	DefaultValue bool
	// closed marks Case statuses that close the case (IsClosed).
	closed bool
}

// field is the metadata of one field. Describe serves it and validation
// reads it, so the two never disagree.
type field struct {
	Name              string
	Label             string
	Type              string
	Length            int
	Precision, Scale  int
	Digits            int
	Nillable          bool
	Createable        bool
	Updateable        bool
	DefaultedOnCreate bool
	Unique            bool
	ExternalID        bool
	IDLookup          bool
	NameField         bool
	AutoNumber        bool
	Calculated        bool
	Custom            bool
	CaseSensitive     bool
	Picklist          []picklistValue
	Restricted        bool
	ReferenceTo       []string
	RelationshipName  string
	// autoFormat is the display format of an auto-number, e.g. "{00000000}"
	// or "M-{000000}".
	autoFormat string
	// system marks the audit fields every object has; a --schema file may
	// not redefine them.
	system bool
}

func (f *field) isText() bool {
	switch f.Type {
	case typeString, typeTextarea, typeEmail, typePhone, typeURL, typePicklist, typeMultipicklist:
		return true
	}
	return false
}

func (f *field) isNumber() bool {
	switch f.Type {
	case typeDouble, typeInt, typeCurrency, typePercent:
		return true
	}
	return false
}

// longText marks text areas longer than 255 characters, which Salesforce
// can neither filter nor sort on.
func (f *field) longText() bool { return f.Type == typeTextarea && f.Length > 255 }

func (f *field) picklistValue(v string) (picklistValue, bool) {
	for _, p := range f.Picklist {
		if p.Value == v {
			return p, true
		}
	}
	return picklistValue{}, false
}

func (f *field) defaultPicklist() (string, bool) {
	for _, p := range f.Picklist {
		if p.DefaultValue && p.Active {
			return p.Value, true
		}
	}
	return "", false
}

// recordTypeInfo is one entry of describe's recordTypeInfos.
type recordTypeInfo struct {
	Name          string
	DeveloperName string
	ID            string
	Default       bool
	Master        bool
}

// childRelationship is one entry of describe's childRelationships.
type childRelationship struct {
	ChildSObject     string
	Field            string
	RelationshipName string
	CascadeDelete    bool
}

// object is the metadata of one sObject.
type object struct {
	Name        string
	Label       string
	LabelPlural string
	KeyPrefix   string
	Custom      bool
	Createable  bool
	Updateable  bool
	Deletable   bool
	Searchable  bool
	Fields      []*field
	RecordTypes []recordTypeInfo
	Children    []childRelationship

	byName map[string]*field // lower-case name
	byRel  map[string]*field // lower-case relationship name
	// nameFields are searched by SOSL IN NAME FIELDS.
	nameFields []string
	hasOwner   bool
}

func (o *object) field(name string) *field { return o.byName[strings.ToLower(name)] }

func (o *object) relationship(name string) *field { return o.byRel[strings.ToLower(name)] }

func (o *object) child(name string) *childRelationship {
	for i := range o.Children {
		if strings.EqualFold(o.Children[i].RelationshipName, name) {
			return &o.Children[i]
		}
	}
	return nil
}

func (o *object) index() {
	o.byName = make(map[string]*field, len(o.Fields))
	o.byRel = make(map[string]*field)
	for _, f := range o.Fields {
		o.byName[strings.ToLower(f.Name)] = f
		if f.RelationshipName != "" {
			o.byRel[strings.ToLower(f.RelationshipName)] = f
		}
	}
}

// schema is the set of objects of the org.
type schema struct {
	objects  []*object
	byName   map[string]*object
	byPrefix map[string]*object
}

func (s *schema) object(name string) *object { return s.byName[strings.ToLower(name)] }

func (s *schema) add(o *object) {
	o.index()
	s.objects = append(s.objects, o)
	s.byName[strings.ToLower(o.Name)] = o
	s.byPrefix[o.KeyPrefix] = o
}

// link computes child relationships from every reference field.
func (s *schema) link() {
	for _, o := range s.objects {
		o.Children = nil
	}
	for _, o := range s.objects {
		for _, f := range o.Fields {
			if f.Type != typeReference || f.system || f.Name == "OwnerId" {
				continue
			}
			for _, target := range f.ReferenceTo {
				t := s.object(target)
				if t == nil {
					continue
				}
				t.Children = append(t.Children, childRelationship{
					ChildSObject:     o.Name,
					Field:            f.Name,
					RelationshipName: childRelName(o, f),
				})
			}
		}
	}
	for _, o := range s.objects {
		sort.SliceStable(o.Children, func(i, j int) bool { return o.Children[i].ChildSObject < o.Children[j].ChildSObject })
	}
}

// childRelName names the relationship from a parent to the records whose
// field f points at it: the plural of the child (e.g. Cases, Contacts) for
// standard lookups, Plural_Label__r for custom ones.
func childRelName(child *object, f *field) string {
	if !f.Custom {
		switch {
		case child.Name == "Case" && f.Name == "ParentId":
			return "Cases"
		case child.Name == "Lead" && f.Name == "ConvertedContactId":
			return ""
		}
		return child.LabelPlural
	}
	base := strings.TrimSuffix(child.Name, "__c")
	if child.Custom {
		return base + "s__r"
	}
	return strings.ReplaceAll(child.LabelPlural, " ", "_") + "__r"
}

// Field constructors for the default schema.

func textField(name, label string, length int) *field {
	return &field{Name: name, Label: label, Type: typeString, Length: length, Nillable: true, Createable: true, Updateable: true}
}

func typedField(name, label, typ string, length int) *field {
	f := textField(name, label, length)
	f.Type = typ
	switch typ {
	case typeBoolean:
		f.Nillable = false
		f.DefaultedOnCreate = true
		f.Length = 0
	case typeDouble, typeCurrency, typePercent:
		f.Precision, f.Scale = 18, 2
		if typ == typeDouble {
			f.Scale = 0
		}
		f.Length = 0
	case typeInt:
		f.Digits = 9
		f.Length = 0
	case typeDate, typeDateTime:
		f.Length = 0
	}
	return f
}

func picklistField(name, label string, restricted bool, values ...string) *field {
	f := textField(name, label, 255)
	f.Type = typePicklist
	f.Restricted = restricted
	for _, v := range values {
		def := strings.HasPrefix(v, "*")
		v = strings.TrimPrefix(v, "*")
		f.Picklist = append(f.Picklist, picklistValue{Value: v, Label: v, Active: true, DefaultValue: def})
		if def {
			f.DefaultedOnCreate = true
		}
	}
	return f
}

func refField(name, label, rel string, to ...string) *field {
	f := textField(name, label, 18)
	f.Type = typeReference
	f.ReferenceTo = to
	f.RelationshipName = rel
	return f
}

func readOnly(f *field) *field {
	f.Createable, f.Updateable = false, false
	return f
}

func custom(f *field) *field {
	f.Custom = true
	return f
}

func required(f *field) *field {
	f.Nillable = false
	return f
}

// systemFields returns the fields every object carries, in the order of
// Salesforce's describe: Id, OwnerId, IsDeleted, then the audit fields.
func systemFields(hasOwner bool) (head, audit []*field) {
	id := &field{Name: "Id", Label: "Record ID", Type: typeID, Length: 18, DefaultedOnCreate: true, IDLookup: true, system: true}
	head = append(head, id)
	if hasOwner {
		owner := refField("OwnerId", "Owner ID", "Owner", "Group", "User")
		owner.Nillable = false
		owner.DefaultedOnCreate = true
		owner.system = true
		head = append(head, owner)
	}
	deleted := readOnly(typedField("IsDeleted", "Deleted", typeBoolean, 0))
	deleted.system = true
	head = append(head, deleted)
	mk := func(name, label, typ, rel string) *field {
		var f *field
		if typ == typeReference {
			f = refField(name, label, rel, "User")
		} else {
			f = typedField(name, label, typ, 0)
		}
		f.Nillable = false
		f.DefaultedOnCreate = true
		f.system = true
		return readOnly(f)
	}
	audit = []*field{
		mk("CreatedDate", "Created Date", typeDateTime, ""),
		mk("CreatedById", "Created By ID", typeReference, "CreatedBy"),
		mk("LastModifiedDate", "Last Modified Date", typeDateTime, ""),
		mk("LastModifiedById", "Last Modified By ID", typeReference, "LastModifiedBy"),
		mk("SystemModstamp", "System Modstamp", typeDateTime, ""),
	}
	return head, audit
}

func newObject(name, label, plural, prefix string, hasOwner bool, fields ...*field) *object {
	head, audit := systemFields(hasOwner)
	o := &object{
		Name: name, Label: label, LabelPlural: plural, KeyPrefix: prefix,
		Createable: true, Updateable: true, Deletable: true, Searchable: true,
		hasOwner: hasOwner,
	}
	o.Fields = append(o.Fields, head...)
	o.Fields = append(o.Fields, audit...)
	o.Fields = append(o.Fields, fields...)
	return o
}

// compoundName is the read-only Name of Contact, Lead and User, built from
// FirstName and LastName.
func compoundName() *field {
	f := readOnly(textField("Name", "Full Name", 121))
	f.NameField = true
	f.Nillable = false
	f.DefaultedOnCreate = true
	return f
}

func autoNumberField(name, label, format string, length int) *field {
	f := readOnly(textField(name, label, length))
	f.AutoNumber = true
	f.Nillable = false
	f.DefaultedOnCreate = true
	f.IDLookup = true
	f.NameField = true
	f.autoFormat = format
	return f
}

func externalIDField(name, label string, length int) *field {
	f := custom(textField(name, label, length))
	f.ExternalID = true
	f.Unique = true
	f.IDLookup = true
	return f
}

// Record type ids of the default schema. The master record type has the
// fixed id every org uses.
const masterRecordTypeID = "012000000000000AAA"

// defaultSchema builds the org of SPEC §8: Account, Contact, Lead, Case,
// User, RecordType and the custom message object Care_Social_Post__c.
func defaultSchema() *schema {
	s := &schema{byName: map[string]*object{}, byPrefix: map[string]*object{}}

	accountName := required(textField("Name", "Account Name", 255))
	accountName.NameField = true
	s.add(newObject("Account", "Account", "Accounts", "001", true,
		accountName,
		typedField("Phone", "Account Phone", typePhone, 40),
		typedField("Website", "Website", typeURL, 255),
		picklistField("Industry", "Industry", false, "Agriculture", "Apparel", "Banking", "Retail", "Technology", "Other"),
		typedField("Description", "Account Description", typeTextarea, 32000),
	))

	contactEmail := typedField("Email", "Email", typeEmail, 80)
	contactEmail.IDLookup = true
	contact := newObject("Contact", "Contact", "Contacts", "003", true,
		refField("AccountId", "Account ID", "Account", "Account"),
		required(textField("LastName", "Last Name", 80)),
		textField("FirstName", "First Name", 40),
		picklistField("Salutation", "Salutation", false, "Mr.", "Ms.", "Mrs.", "Dr.", "Prof."),
		compoundName(),
		contactEmail,
		typedField("Phone", "Business Phone", typePhone, 40),
		typedField("MobilePhone", "Mobile Phone", typePhone, 40),
		textField("Title", "Title", 128),
		textField("Department", "Department", 80),
		typedField("Birthdate", "Birthdate", typeDate, 0),
		picklistField("LeadSource", "Lead Source", false, "Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"),
		typedField("Description", "Contact Description", typeTextarea, 32000),
	)
	contact.nameFields = []string{"Name", "FirstName", "LastName"}
	s.add(contact)

	leadEmail := typedField("Email", "Email", typeEmail, 80)
	leadEmail.IDLookup = true
	leadStatus := picklistField("Status", "Status", false, "*Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted")
	leadStatus.Nillable = false
	lead := newObject("Lead", "Lead", "Leads", "00Q", true,
		required(textField("LastName", "Last Name", 80)),
		textField("FirstName", "First Name", 40),
		picklistField("Salutation", "Salutation", false, "Mr.", "Ms.", "Mrs.", "Dr.", "Prof."),
		compoundName(),
		textField("Title", "Title", 128),
		required(textField("Company", "Company", 255)),
		leadEmail,
		typedField("Phone", "Phone", typePhone, 40),
		typedField("MobilePhone", "Mobile Phone", typePhone, 40),
		typedField("Description", "Description", typeTextarea, 32000),
		picklistField("LeadSource", "Lead Source", false, "Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"),
		leadStatus,
		picklistField("Industry", "Industry", false, "Agriculture", "Apparel", "Banking", "Retail", "Technology", "Other"),
		picklistField("Rating", "Rating", false, "Hot", "Warm", "Cold"),
		typedField("AnnualRevenue", "Annual Revenue", typeCurrency, 0),
		typedField("NumberOfEmployees", "Employees", typeInt, 0),
		readOnly(typedField("IsConverted", "Converted", typeBoolean, 0)),
		readOnly(refField("ConvertedContactId", "Converted Contact ID", "ConvertedContact", "Contact")),
	)
	lead.nameFields = []string{"Name", "FirstName", "LastName", "Company"}
	s.add(lead)

	status := picklistField("Status", "Status", false, "*New", "Working", "Escalated", "Closed")
	for i := range status.Picklist {
		status.Picklist[i].closed = status.Picklist[i].Value == "Closed"
	}
	priority := picklistField("Priority", "Priority", false, "High", "*Medium", "Low")
	isClosed := readOnly(typedField("IsClosed", "Closed", typeBoolean, 0))
	recordType := refField("RecordTypeId", "Record Type ID", "RecordType", "RecordType")
	cs := newObject("Case", "Case", "Cases", "500", true,
		autoNumberField("CaseNumber", "Case Number", "{00000000}", 30),
		refField("ContactId", "Contact ID", "Contact", "Contact"),
		refField("AccountId", "Account ID", "Account", "Account"),
		refField("ParentId", "Parent Case ID", "Parent", "Case"),
		recordType,
		textField("SuppliedName", "Name", 80),
		typedField("SuppliedEmail", "Email Address", typeEmail, 80),
		textField("SuppliedPhone", "Phone", 40),
		textField("SuppliedCompany", "Company", 80),
		picklistField("Type", "Case Type", false, "Mechanical", "Electrical", "Electronic", "Structural", "Other"),
		status,
		picklistField("Reason", "Case Reason", false, "Installation", "Equipment Complexity", "Performance", "Breakdown", "Equipment Design", "Feedback", "Other"),
		picklistField("Origin", "Case Origin", false, "Phone", "Email", "Web", "Social"),
		textField("Subject", "Subject", 255),
		priority,
		typedField("Description", "Description", typeTextarea, 32000),
		isClosed,
		readOnly(typedField("ClosedDate", "Closed Date", typeDateTime, 0)),
		typedField("IsEscalated", "Escalated", typeBoolean, 0),
		externalIDField("Care_Case_Id__c", "Care Case Id", 64),
		custom(typedField("Care_Agent_Email__c", "Care Agent Email", typeEmail, 80)),
	)
	cs.nameFields = []string{"CaseNumber", "Subject"}
	cs.RecordTypes = []recordTypeInfo{
		// The ids of the real record types are set when they are seeded.
		{Name: "Support", DeveloperName: "Support"},
		{Name: "Social", DeveloperName: "Social"},
		{Name: "Master", DeveloperName: "Master", ID: masterRecordTypeID, Default: true, Master: true},
	}
	s.add(cs)

	username := readOnly(textField("Username", "Username", 80))
	username.Nillable = false
	username.Unique = true
	username.IDLookup = true
	user := newObject("User", "User", "Users", "005", false,
		username,
		readOnly(required(textField("LastName", "Last Name", 80))),
		readOnly(textField("FirstName", "First Name", 40)),
		compoundName(),
		readOnly(typedField("Email", "Email", typeEmail, 128)),
		readOnly(textField("Alias", "Alias", 8)),
		readOnly(textField("CommunityNickname", "Nickname", 40)),
		readOnly(textField("Title", "Title", 80)),
		readOnly(typedField("IsActive", "Active", typeBoolean, 0)),
		readOnly(picklistField("UserType", "User Type", true, "Standard", "PowerPartner", "CspLitePortal")),
	)
	user.Createable, user.Updateable, user.Deletable = false, false, false
	user.nameFields = []string{"Name", "FirstName", "LastName", "Username"}
	s.add(user)

	groupName := readOnly(required(textField("Name", "Name", 40)))
	groupName.NameField = true
	group := newObject("Group", "Group", "Groups", "00G", false,
		groupName,
		readOnly(textField("DeveloperName", "Developer Name", 80)),
		readOnly(picklistField("Type", "Type", true, "Regular", "Queue", "Role", "Organization")),
		readOnly(typedField("Email", "Email", typeEmail, 255)),
	)
	group.Createable, group.Updateable, group.Deletable = false, false, false
	group.nameFields = []string{"Name"}
	s.add(group)

	rtName := readOnly(textField("Name", "Record Type Name", 80))
	rtName.NameField = true
	rt := newObject("RecordType", "Record Type", "Record Types", "012", false,
		rtName,
		readOnly(textField("DeveloperName", "Record Type Name", 80)),
		readOnly(textField("SobjectType", "SObject Type Name", 40)),
		readOnly(textField("Description", "Description", 255)),
		readOnly(typedField("IsActive", "Active", typeBoolean, 0)),
	)
	rt.Createable, rt.Updateable, rt.Deletable, rt.Searchable = false, false, false, false
	rt.nameFields = []string{"Name"}
	s.add(rt)

	post := newObject("Care_Social_Post__c", "Care Social Post", "Care Social Posts", "a0S", true,
		autoNumberField("Name", "Care Social Post Name", "M-{000000}", 80),
		externalIDField("Care_Message_Id__c", "Care Message Id", 64),
		custom(refField("Case__c", "Case", "Case__r", "Case")),
		custom(typedField("Content__c", "Content", typeTextarea, 32768)),
		custom(textField("Author__c", "Author", 255)),
		custom(typedField("Posted__c", "Posted", typeDateTime, 0)),
		custom(picklistField("Direction__c", "Direction", true, "Inbound", "Outbound")),
	)
	post.Custom = true
	post.nameFields = []string{"Name"}
	s.add(post)

	s.link()
	return s
}

// autoNumber formats n with an auto-number display format such as
// "{00000000}" or "M-{000000}".
func autoNumber(format string, n int) string {
	open := strings.IndexByte(format, '{')
	closing := strings.IndexByte(format, '}')
	if open < 0 || closing < open {
		return fmt.Sprintf("%s%d", format, n)
	}
	width := closing - open - 1
	return format[:open] + fmt.Sprintf("%0*d", width, n) + format[closing+1:]
}
