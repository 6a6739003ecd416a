package sfsim

import (
	"net/http"
	"time"
)

// Describe bodies follow the key set and order of Salesforce's describe
// (fixture describe_custom_object_v23.json), plus the recordTypeInfos keys
// later versions added (developerName, master, active, urls).

func (s *Server) handleDescribeGlobal(c *call) *response {
	if resp := s.notModified(c); resp != nil {
		return resp
	}
	entries := make([]jobj, 0, len(s.schema.objects))
	for _, o := range s.schema.objects {
		entries = append(entries, s.globalEntry(o, c.version))
	}
	return jsonResp(http.StatusOK, jobj{{"encoding", "UTF-8"}, {"maxBatchSize", 200}, {"sobjects", entries}})
}

// notModified answers 304 to If-Modified-Since at or after the schema was
// loaded (the schema never changes while the org runs).
func (s *Server) notModified(c *call) *response {
	ims := c.header.Get("If-Modified-Since")
	if ims == "" {
		return nil
	}
	t, err := http.ParseTime(ims)
	if err != nil || t.Before(s.started.Truncate(time.Second)) {
		return nil
	}
	return &response{status: http.StatusNotModified}
}

// globalEntry is one object of describeGlobal (and objectDescribe of the
// basic-information resource).
func (s *Server) globalEntry(o *object, version string) jobj {
	base := "/services/data/v" + version + "/sobjects/" + o.Name
	return jobj{
		{"name", o.Name},
		{"label", o.Label},
		{"custom", o.Custom},
		{"keyPrefix", o.KeyPrefix},
		{"labelPlural", o.LabelPlural},
		{"layoutable", true},
		{"activateable", false},
		{"updateable", o.Updateable},
		{"urls", jobj{{"sobject", base}, {"describe", base + "/describe"}, {"rowTemplate", base + "/{ID}"}}},
		{"searchable", o.Searchable},
		{"createable", o.Createable},
		{"customSetting", false},
		{"deletable", o.Deletable},
		{"deprecatedAndHidden", false},
		{"feedEnabled", !o.Custom},
		{"mergeable", o.mergeable()},
		{"queryable", true},
		{"replicateable", true},
		{"retrieveable", true},
		{"undeletable", o.Deletable},
		{"triggerable", true},
	}
}

func (s *Server) handleDescribe(c *call, o *object) *response {
	if resp := s.notModified(c); resp != nil {
		return resp
	}
	return jsonResp(http.StatusOK, s.describe(o, c.version, c.userID))
}

// describe is the full describe of o as the user sees it: a field the
// user's profile may not write is neither createable nor updateable.
func (s *Server) describe(o *object, version, userID string) jobj {
	base := "/services/data/v" + version + "/sobjects/" + o.Name
	fields := make([]jobj, 0, len(o.Fields))
	for _, f := range o.Fields {
		if !s.fieldWritable(userID, o, f) {
			readOnly := *f
			readOnly.Createable, readOnly.Updateable = false, false
			f = &readOnly
		}
		fields = append(fields, describeField(f))
	}
	children := make([]jobj, 0, len(o.Children))
	for _, ch := range o.Children {
		var rel any
		if ch.RelationshipName != "" {
			rel = ch.RelationshipName
		}
		children = append(children, jobj{
			{"field", ch.Field},
			{"deprecatedAndHidden", false},
			{"relationshipName", rel},
			{"cascadeDelete", ch.CascadeDelete},
			{"childSObject", ch.ChildSObject},
		})
	}
	rts := o.RecordTypes
	if len(rts) == 0 {
		rts = []recordTypeInfo{{Name: "Master", DeveloperName: "Master", ID: masterRecordTypeID, Default: true, Master: true}}
	}
	infos := make([]jobj, 0, len(rts))
	for _, rt := range rts {
		infos = append(infos, jobj{
			{"name", rt.Name},
			{"available", true},
			{"recordTypeId", rt.ID},
			{"defaultRecordTypeMapping", rt.Default},
			{"developerName", rt.DeveloperName},
			{"master", rt.Master},
			{"active", true},
			{"urls", jobj{{"layout", base + "/describe/layouts/" + rt.ID}}},
		})
	}
	// The object's own keys are its describeGlobal entry's; the full
	// describe adds its urls and the members below where Salesforce puts
	// them.
	ui := s.InstanceURL
	return s.globalEntry(o, version).
		with("urls", jobj{
			{"uiEditTemplate", ui + "/{ID}/e"},
			{"sobject", base},
			{"uiDetailTemplate", ui + "/{ID}"},
			{"describe", base + "/describe"},
			{"rowTemplate", base + "/{ID}"},
			{"uiNewRecord", ui + "/" + o.KeyPrefix + "/e"},
		}).
		insertAfter("name", kv{"fields", fields}).
		insertAfter("searchable", kv{"childRelationships", children}).
		insertAfter("feedEnabled", kv{"listviewable", nil}, kv{"lookupLayoutable", nil}).
		insertAfter("queryable", kv{"recordTypeInfos", infos}).
		insertAfter("retrieveable", kv{"searchLayoutable", nil})
}

func soapType(f *field) string {
	switch f.Type {
	case typeID, typeReference:
		return "tns:ID"
	case typeBoolean:
		return "xsd:boolean"
	case typeDouble, typeCurrency, typePercent:
		return "xsd:double"
	case typeInt:
		return "xsd:int"
	case typeDate:
		return "xsd:date"
	case typeDateTime:
		return "xsd:dateTime"
	}
	return "xsd:string"
}

func describeField(f *field) jobj {
	byteLength := 0
	switch {
	case f.Type == typeID || f.Type == typeReference:
		byteLength = 18
	case f.isText():
		byteLength = 3 * f.Length
	}
	picklist := make([]jobj, 0, len(f.Picklist))
	for _, p := range f.Picklist {
		picklist = append(picklist, jobj{
			{"value", p.Value},
			{"active", p.Active},
			{"label", p.Label},
			{"defaultValue", p.DefaultValue},
			{"validFor", nil},
		})
	}
	referenceTo := f.ReferenceTo
	if referenceTo == nil {
		referenceTo = []string{}
	}
	var rel any
	if f.RelationshipName != "" {
		rel = f.RelationshipName
	}
	var defaultValue any
	if f.Type == typeBoolean && f.Createable {
		defaultValue = false
	}
	filterable := !f.longText()
	groupable := !f.longText() && f.Type != typeDateTime && !f.isNumberFloat()
	return jobj{
		{"length", f.Length},
		{"name", f.Name},
		{"type", f.Type},
		{"defaultValue", defaultValue},
		{"label", f.Label},
		{"updateable", f.Updateable},
		{"calculated", f.Calculated},
		{"controllerName", nil},
		{"nillable", f.Nillable},
		{"unique", f.Unique},
		{"precision", f.Precision},
		{"scale", f.Scale},
		{"caseSensitive", f.CaseSensitive},
		{"byteLength", byteLength},
		{"inlineHelpText", nil},
		{"nameField", f.NameField},
		{"externalId", f.ExternalID},
		{"idLookup", f.IDLookup},
		{"filterable", filterable},
		{"soapType", soapType(f)},
		{"createable", f.Createable},
		{"deprecatedAndHidden", false},
		{"autoNumber", f.AutoNumber},
		{"calculatedFormula", nil},
		{"defaultValueFormula", nil},
		{"defaultedOnCreate", f.DefaultedOnCreate},
		{"digits", f.Digits},
		{"groupable", groupable},
		{"picklistValues", picklist},
		{"referenceTo", referenceTo},
		{"relationshipName", rel},
		{"relationshipOrder", nil},
		{"restrictedPicklist", f.Restricted},
		{"namePointing", f.Name == "OwnerId"},
		{"custom", f.Custom},
		{"htmlFormatted", false},
		{"dependentPicklist", false},
		{"writeRequiresMasterRead", false},
		{"sortable", !f.longText()},
	}
}

// mergeable marks the standard objects whose duplicates can be merged.
func (o *object) mergeable() bool {
	switch o.Name {
	case "Account", "Contact", "Lead", "Case":
		return true
	}
	return false
}

func (f *field) isNumberFloat() bool {
	return f.Type == typeDouble || f.Type == typeCurrency || f.Type == typePercent
}
