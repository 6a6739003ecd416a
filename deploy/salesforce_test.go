package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/carebridge/carebridge/config"
	orgkit "github.com/carebridge/carebridge/deploy/salesforce"
	"github.com/carebridge/carebridge/mapping"
)

// metadataNS is the namespace of every Salesforce metadata file.
const metadataNS = "http://soap.sforce.com/2006/04/metadata"

// unknown collects the elements a metadata struct does not name: every
// struct below has one, and strictXML fails on any it holds, so a
// misspelled or invented element name fails the test instead of being
// dropped silently by encoding/xml.
type unknown []struct {
	XMLName xml.Name
}

type customField struct {
	XMLName           xml.Name `xml:"CustomField"`
	FullName          string   `xml:"fullName"`
	CaseSensitive     *bool    `xml:"caseSensitive"`
	DeleteConstraint  string   `xml:"deleteConstraint"`
	Description       string   `xml:"description"`
	ExternalID        bool     `xml:"externalId"`
	InlineHelpText    string   `xml:"inlineHelpText"`
	Label             string   `xml:"label"`
	Length            int      `xml:"length"`
	ReferenceTo       string   `xml:"referenceTo"`
	RelationshipLabel string   `xml:"relationshipLabel"`
	RelationshipName  string   `xml:"relationshipName"`
	Required          bool     `xml:"required"`
	Type              string   `xml:"type"`
	Unique            bool     `xml:"unique"`
	ValueSet          *struct {
		Restricted         bool `xml:"restricted"`
		ValueSetDefinition struct {
			Sorted bool `xml:"sorted"`
			Value  []struct {
				FullName string  `xml:"fullName"`
				Default  bool    `xml:"default"`
				Label    string  `xml:"label"`
				Unknown  unknown `xml:",any"`
			} `xml:"value"`
			Unknown unknown `xml:",any"`
		} `xml:"valueSetDefinition"`
		Unknown unknown `xml:",any"`
	} `xml:"valueSet"`
	VisibleLines int     `xml:"visibleLines"`
	Unknown      unknown `xml:",any"`
}

type customObject struct {
	XMLName            xml.Name `xml:"CustomObject"`
	DeploymentStatus   string   `xml:"deploymentStatus"`
	Description        string   `xml:"description"`
	EnableActivities   bool     `xml:"enableActivities"`
	EnableBulkAPI      bool     `xml:"enableBulkApi"`
	EnableHistory      bool     `xml:"enableHistory"`
	EnableReports      bool     `xml:"enableReports"`
	EnableSearch       bool     `xml:"enableSearch"`
	EnableSharing      bool     `xml:"enableSharing"`
	EnableStreamingAPI bool     `xml:"enableStreamingApi"`
	Label              string   `xml:"label"`
	NameField          struct {
		DisplayFormat string  `xml:"displayFormat"`
		Label         string  `xml:"label"`
		Type          string  `xml:"type"`
		Unknown       unknown `xml:",any"`
	} `xml:"nameField"`
	PluralLabel  string  `xml:"pluralLabel"`
	SharingModel string  `xml:"sharingModel"`
	Unknown      unknown `xml:",any"`
}

type permissionSet struct {
	XMLName          xml.Name `xml:"PermissionSet"`
	Description      string   `xml:"description"`
	FieldPermissions []struct {
		Editable bool    `xml:"editable"`
		Field    string  `xml:"field"`
		Readable bool    `xml:"readable"`
		Unknown  unknown `xml:",any"`
	} `xml:"fieldPermissions"`
	HasActivationRequired bool   `xml:"hasActivationRequired"`
	Label                 string `xml:"label"`
	ObjectPermissions     []struct {
		AllowCreate      bool    `xml:"allowCreate"`
		AllowDelete      bool    `xml:"allowDelete"`
		AllowEdit        bool    `xml:"allowEdit"`
		AllowRead        bool    `xml:"allowRead"`
		ModifyAllRecords bool    `xml:"modifyAllRecords"`
		Object           string  `xml:"object"`
		ViewAllRecords   bool    `xml:"viewAllRecords"`
		Unknown          unknown `xml:",any"`
	} `xml:"objectPermissions"`
	PageAccesses []struct {
		ApexPage string  `xml:"apexPage"`
		Enabled  bool    `xml:"enabled"`
		Unknown  unknown `xml:",any"`
	} `xml:"pageAccesses"`
	UserPermissions []struct {
		Enabled bool    `xml:"enabled"`
		Name    string  `xml:"name"`
		Unknown unknown `xml:",any"`
	} `xml:"userPermissions"`
	Unknown unknown `xml:",any"`
}

type connectedApp struct {
	XMLName      xml.Name `xml:"ConnectedApp"`
	ContactEmail string   `xml:"contactEmail"`
	Description  string   `xml:"description"`
	Label        string   `xml:"label"`
	OauthConfig  struct {
		CallbackURL                     string   `xml:"callbackUrl"`
		IsAdminApproved                 bool     `xml:"isAdminApproved"`
		IsConsumerSecretOptional        bool     `xml:"isConsumerSecretOptional"`
		IsIntrospectAllTokens           bool     `xml:"isIntrospectAllTokens"`
		IsPkceRequired                  bool     `xml:"isPkceRequired"`
		IsSecretRequiredForRefreshToken bool     `xml:"isSecretRequiredForRefreshToken"`
		Scopes                          []string `xml:"scopes"`
		Unknown                         unknown  `xml:",any"`
	} `xml:"oauthConfig"`
	OauthPolicy struct {
		IPRelaxation       string  `xml:"ipRelaxation"`
		RefreshTokenPolicy string  `xml:"refreshTokenPolicy"`
		Unknown            unknown `xml:",any"`
	} `xml:"oauthPolicy"`
	Unknown unknown `xml:",any"`
}

type customLabels struct {
	XMLName xml.Name `xml:"CustomLabels"`
	Labels  []struct {
		FullName         string  `xml:"fullName"`
		Categories       string  `xml:"categories"`
		Language         string  `xml:"language"`
		Protected        bool    `xml:"protected"`
		ShortDescription string  `xml:"shortDescription"`
		Value            string  `xml:"value"`
		Unknown          unknown `xml:",any"`
	} `xml:"labels"`
	Unknown unknown `xml:",any"`
}

type apexPage struct {
	XMLName                   xml.Name `xml:"ApexPage"`
	APIVersion                string   `xml:"apiVersion"`
	AvailableInTouch          bool     `xml:"availableInTouch"`
	ConfirmationTokenRequired bool     `xml:"confirmationTokenRequired"`
	Description               string   `xml:"description"`
	Label                     string   `xml:"label"`
	Unknown                   unknown  `xml:",any"`
}

// strictXML decodes a metadata file into v and fails on an element v does
// not name (at any depth), on a root outside the metadata namespace and on
// trailing content.
func strictXML(data []byte, v any) error {
	dec := xml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return err
	}
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if cd, ok := tok.(xml.CharData); err != nil || !ok || len(bytes.TrimSpace(cd)) > 0 {
			return fmt.Errorf("content after the root element")
		}
	}
	if ns := reflect.ValueOf(v).Elem().FieldByName("XMLName").Interface().(xml.Name).Space; ns != metadataNS {
		return fmt.Errorf("root namespace %q, want %q", ns, metadataNS)
	}
	var bad []string
	findUnknown(reflect.ValueOf(v).Elem(), &bad)
	if len(bad) > 0 {
		return fmt.Errorf("unknown elements: %s", strings.Join(bad, ", "))
	}
	return nil
}

func findUnknown(v reflect.Value, bad *[]string) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			findUnknown(v.Elem(), bad)
		}
	case reflect.Slice:
		if u, ok := v.Interface().(unknown); ok {
			for _, e := range u {
				*bad = append(*bad, e.XMLName.Local)
			}
			return
		}
		for i := range v.Len() {
			findUnknown(v.Index(i), bad)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				findUnknown(v.Field(i), bad)
			}
		}
	}
}

// kit is the org setup kit, every file parsed.
type kit struct {
	project struct {
		Name               string `json:"name"`
		Namespace          string `json:"namespace"`
		PackageDirectories []struct {
			Path    string `json:"path"`
			Default bool   `json:"default"`
		} `json:"packageDirectories"`
		SfdcLoginURL     string `json:"sfdcLoginUrl"`
		SourceAPIVersion string `json:"sourceApiVersion"`
	}
	fields     map[string]customField // Object.Field
	objects    map[string]customObject
	permSets   map[string]permissionSet
	apps       map[string]connectedApp
	labels     customLabels
	pages      map[string]apexPage
	pageMarkup map[string][]byte
}

// loadKit parses every file of deploy/salesforce through orgkit.FS (what
// `mapping check --online` points into) and fails on a file of a kind the
// kit does not know.
func loadKit(t *testing.T) *kit {
	t.Helper()
	k := &kit{fields: map[string]customField{}, objects: map[string]customObject{}, permSets: map[string]permissionSet{},
		apps: map[string]connectedApp{}, pages: map[string]apexPage{}, pageMarkup: map[string][]byte{}}
	fsys := orgkit.FS()
	raw, err := fs.ReadFile(fsys, "sfdx-project.json")
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&k.project); err != nil {
		t.Fatalf("sfdx-project.json: %v", err)
	}
	err = fs.WalkDir(fsys, "force-app", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		base := path.Base(p)
		name := func(suffix string) string { return strings.TrimSuffix(base, suffix) }
		var v any
		var keep func() error // files the decoded value into k
		switch {
		case strings.HasSuffix(base, ".field-meta.xml"):
			var f customField
			v, keep = &f, func() error {
				if f.FullName != name(".field-meta.xml") {
					return fmt.Errorf("%s: fullName %q does not match the file name", p, f.FullName)
				}
				k.fields[path.Base(path.Dir(path.Dir(p)))+"."+f.FullName] = f
				return nil
			}
		case strings.HasSuffix(base, ".object-meta.xml"):
			var o customObject
			v, keep = &o, func() error { k.objects[name(".object-meta.xml")] = o; return nil }
		case strings.HasSuffix(base, ".permissionset-meta.xml"):
			var ps permissionSet
			v, keep = &ps, func() error { k.permSets[name(".permissionset-meta.xml")] = ps; return nil }
		case strings.HasSuffix(base, ".connectedApp-meta.xml"):
			var a connectedApp
			v, keep = &a, func() error { k.apps[name(".connectedApp-meta.xml")] = a; return nil }
		case base == "CustomLabels.labels-meta.xml":
			v, keep = &k.labels, func() error { return nil }
		case strings.HasSuffix(base, ".page-meta.xml"):
			var pg apexPage
			v, keep = &pg, func() error { k.pages[name(".page-meta.xml")] = pg; return nil }
		case strings.HasSuffix(base, ".page"):
			k.pageMarkup[name(".page")] = data
			return wellFormed(data)
		default:
			return fmt.Errorf("%s: a file of a kind the kit test does not know", p)
		}
		if err := strictXML(data, v); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		return keep()
	})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// wellFormed reads Visualforce markup as XML: every tag closed, every
// attribute quoted.
func wellFormed(data []byte) error {
	dec := xml.NewDecoder(bytes.NewReader(data))
	for {
		if _, err := dec.Token(); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("visualforce markup: %w", err)
		}
	}
}

func TestStrictXMLRefusesUnknownElements(t *testing.T) {
	for name, doc := range map[string]string{
		"misspelled":    `<CustomField xmlns="` + metadataNS + `"><fullName>A__c</fullName><lenght>5</lenght></CustomField>`,
		"nested":        `<CustomField xmlns="` + metadataNS + `"><valueSet><valueSetDefinition><value><color>red</color></value></valueSetDefinition></valueSet></CustomField>`,
		"no namespace":  `<CustomField><fullName>A__c</fullName></CustomField>`,
		"wrong root":    `<CustomObject xmlns="` + metadataNS + `"></CustomObject>`,
		"trailing root": `<CustomField xmlns="` + metadataNS + `"></CustomField><CustomField/>`,
	} {
		t.Run(name, func(t *testing.T) {
			var f customField
			if err := strictXML([]byte(doc), &f); err == nil {
				t.Fatalf("strictXML accepted %s", doc)
			}
		})
	}
	var f customField
	if err := strictXML([]byte(`<CustomField xmlns="`+metadataNS+`"><fullName>A__c</fullName></CustomField>`), &f); err != nil {
		t.Fatal(err)
	}
}

func TestSalesforceKitAPIVersion(t *testing.T) {
	k := loadKit(t)
	want := config.Default().Salesforce.APIVersion
	if k.project.SourceAPIVersion != want {
		t.Errorf("sfdx-project.json sourceApiVersion %q, want the daemon's default salesforce.api_version %q", k.project.SourceAPIVersion, want)
	}
	if len(k.project.PackageDirectories) != 1 || k.project.PackageDirectories[0].Path != "force-app" || !k.project.PackageDirectories[0].Default {
		t.Errorf("sfdx-project.json packageDirectories = %+v, want the one default force-app", k.project.PackageDirectories)
	}
	if len(k.pages) == 0 {
		t.Fatal("the kit has no Visualforce page")
	}
	for name, pg := range k.pages {
		if pg.APIVersion != want {
			t.Errorf("page %s apiVersion %q, want %q", name, pg.APIVersion, want)
		}
		if _, ok := k.pageMarkup[name]; !ok {
			t.Errorf("page %s has metadata but no markup", name)
		}
	}
}

// describeTypes is the describe type of each metadata field type the kit
// uses.
var describeTypes = map[string]string{
	"Text": "string", "LongTextArea": "textarea", "Email": "email", "DateTime": "datetime",
	"Picklist": "picklist", "Lookup": "reference",
}

// simDescribe is the simulator's default schema as the mapping tests
// describe it.
func simDescribe(t *testing.T) map[string]*mapping.ObjectInfo {
	t.Helper()
	var out map[string]*mapping.ObjectInfo
	decodeFile(t, "../mapping/testdata/sfsim_describe.json", json.Unmarshal, &out)
	return out
}

// writtenFields lists Object.Field for every field the sample mapping
// writes: mapped fields, external id fields and the message parent field.
func writtenFields(t *testing.T) []string {
	t.Helper()
	rep, m, err := mapping.Check(context.Background(), "example.yaml", mapping.Sample(), nil)
	if err != nil || m == nil {
		t.Fatalf("sample mapping: %v %v", err, rep.Lines())
	}
	var out []string
	for _, sec := range []*mapping.ObjectMapping{m.Contact, m.Case, m.Lead, &m.Messages.ObjectMapping} {
		for _, f := range sec.Fields {
			out = append(out, sec.Object+"."+f.Name)
		}
		if sec.ExternalIDField != "" {
			out = append(out, sec.Object+"."+sec.ExternalIDField)
		}
	}
	out = append(out, m.Messages.Object+"."+m.Messages.ParentField)
	slices.Sort(out)
	return slices.Compact(out)
}

func TestSalesforceKitHasEveryMappedField(t *testing.T) {
	k := loadKit(t)
	sim := simDescribe(t)
	for _, name := range writtenFields(t) {
		object, field, _ := strings.Cut(name, ".")
		if !strings.HasSuffix(field, "__c") {
			continue // standard fields come with every org
		}
		t.Run(name, func(t *testing.T) {
			f, ok := k.fields[name]
			if !ok {
				t.Fatalf("the sample mapping writes %s, which the kit does not add", name)
			}
			if p, ok := orgkit.Field(object, field); !ok || !strings.HasSuffix(p, "/"+field+".field-meta.xml") {
				t.Errorf("orgkit.Field(%s, %s) = %q, %v", object, field, p, ok)
			}
			if object != "Case" && object != "Contact" && object != "Lead" {
				if _, ok := k.objects[object]; !ok {
					t.Errorf("the kit adds %s but not the object %s", name, object)
				}
			}
			sf, ok := sim[object].Field(field)
			if !ok {
				t.Fatalf("the simulator has no %s", name)
			}
			if got := describeTypes[f.Type]; got != sf.Type {
				t.Errorf("kit type %s (describe %q), the simulated org says %q", f.Type, got, sf.Type)
			}
			if f.Type != "Email" && f.Type != "Lookup" && f.Type != "DateTime" && f.Type != "Picklist" && f.Length != sf.Length {
				t.Errorf("kit length %d, the simulated org %d", f.Length, sf.Length)
			}
			if f.ExternalID != sf.ExternalID || (f.ExternalID && !f.Unique) {
				t.Errorf("kit externalId %v unique %v, the simulated org external id %v", f.ExternalID, f.Unique, sf.ExternalID)
			}
			if f.Required {
				t.Error("a kit field is required: the permission set could not grant it, and other writers of the object would fail")
			}
			if f.Type == "Lookup" && !slices.Contains(sf.ReferenceTo, f.ReferenceTo) {
				t.Errorf("kit lookup to %s, the simulated org references %v", f.ReferenceTo, sf.ReferenceTo)
			}
			if f.Type == "Picklist" {
				var kitValues, simValues []string
				for _, v := range f.ValueSet.ValueSetDefinition.Value {
					kitValues = append(kitValues, v.FullName)
				}
				for _, v := range sf.Picklist {
					simValues = append(simValues, v.Value)
				}
				if !slices.Equal(kitValues, simValues) || f.ValueSet.Restricted != sf.Restricted {
					t.Errorf("kit picklist %v (restricted %v), the simulated org %v (restricted %v)", kitValues, f.ValueSet.Restricted, simValues, sf.Restricted)
				}
			}
		})
	}
	if len(orgkit.Fields()) != len(k.fields) {
		t.Errorf("orgkit.Fields lists %d fields, the kit has %d files", len(orgkit.Fields()), len(k.fields))
	}
	if p, ok := orgkit.Object("care_social_post__c"); !ok || !strings.HasSuffix(p, "Care_Social_Post__c.object-meta.xml") {
		t.Errorf("orgkit.Object = %q, %v", p, ok)
	}
	if _, ok := orgkit.Object("Case"); ok {
		t.Error("orgkit.Object found a standard object in the kit")
	}
}

func TestSalesforceKitPermissionSet(t *testing.T) {
	k := loadKit(t)
	ps, ok := k.permSets[orgkit.PermissionSet]
	if !ok {
		t.Fatalf("no permission set %s", orgkit.PermissionSet)
	}
	if _, err := fs.Stat(orgkit.FS(), orgkit.PermissionSetFile); err != nil {
		t.Errorf("orgkit.PermissionSetFile: %v", err)
	}
	granted := map[string]bool{}
	for _, fp := range ps.FieldPermissions {
		granted[fp.Field] = fp.Readable && fp.Editable
	}
	for name := range k.fields {
		if !granted[name] {
			t.Errorf("the permission set does not grant read and edit of %s", name)
		}
	}
	objects := map[string]bool{}
	for _, op := range ps.ObjectPermissions {
		objects[op.Object] = op.AllowRead && op.AllowCreate && op.AllowEdit
	}
	for name := range k.fields {
		if object, _, _ := strings.Cut(name, "."); !objects[object] {
			t.Errorf("the permission set does not grant read, create and edit of %s", object)
		}
	}
	api := false
	for _, up := range ps.UserPermissions {
		api = api || (up.Name == "ApiEnabled" && up.Enabled)
	}
	if !api {
		t.Error("the permission set does not enable the API")
	}
	pages := map[string]bool{}
	for _, pa := range ps.PageAccesses {
		pages[pa.ApexPage] = pa.Enabled
	}
	for name := range k.pages {
		if !pages[name] {
			t.Errorf("the permission set does not open page %s", name)
		}
	}
}

func TestSalesforceKitConnectedApp(t *testing.T) {
	k := loadKit(t)
	if len(k.apps) != 1 {
		t.Fatalf("want one connected app, have %d", len(k.apps))
	}
	for name, app := range k.apps {
		oc := app.OauthConfig
		for _, s := range []string{"Api", "RefreshToken", "OfflineAccess", "OpenID", "Profile", "Email"} {
			if !slices.Contains(oc.Scopes, s) {
				t.Errorf("connected app %s lacks scope %s (has %v)", name, s, oc.Scopes)
			}
		}
		callbacks := strings.Fields(oc.CallbackURL)
		for _, p := range []string{"/oauth/salesforce/callback", "/login/salesforce/callback"} {
			if !slices.ContainsFunc(callbacks, func(u string) bool { return strings.HasSuffix(u, p) && strings.HasPrefix(u, "https://") }) {
				t.Errorf("connected app %s has no https callback ending in %s (has %v)", name, p, callbacks)
			}
		}
		if !oc.IsPkceRequired || oc.IsConsumerSecretOptional {
			t.Errorf("connected app %s: PKCE required %v, secret optional %v; carebridge sends both", name, oc.IsPkceRequired, oc.IsConsumerSecretOptional)
		}
	}
}

func TestSalesforceKitCasePage(t *testing.T) {
	k := loadKit(t)
	markup, ok := k.pageMarkup["CarebridgeCase"]
	if !ok {
		t.Fatal("no page CarebridgeCase")
	}
	var root struct {
		XMLName            xml.Name
		StandardController string `xml:"standardController,attr"`
	}
	if err := xml.Unmarshal(markup, &root); err != nil {
		t.Fatal(err)
	}
	if root.XMLName.Local != "page" || root.StandardController != "Case" {
		t.Errorf("page root %v controller %q, want apex:page on Case", root.XMLName, root.StandardController)
	}
	src := "{!$Label.Carebridge_Public_URL}/embed/cases/{!URLENCODE(Case.Care_Case_Id__c)}"
	if !bytes.Contains(markup, []byte(`src="`+src+`"`)) {
		t.Errorf("the page does not frame %s", src)
	}
	if _, ok := k.fields["Case.Care_Case_Id__c"]; !ok {
		t.Error("the page reads Case.Care_Case_Id__c, which the kit does not add")
	}
	found := false
	for _, l := range k.labels.Labels {
		found = found || (l.FullName == "Carebridge_Public_URL" && strings.HasPrefix(l.Value, "https://"))
	}
	if !found {
		t.Error("no custom label Carebridge_Public_URL with an https placeholder")
	}
}
