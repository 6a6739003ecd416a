// Package orgkit is the Salesforce org setup kit of deploy/salesforce: the
// Salesforce DX source an admin deploys so that the org has what carebridge
// writes (the Care fields on Case, the Care_Social_Post__c object, the
// permission set, the connected app and the Care case page).
//
// The kit's files are embedded, and the lookups below are read from their
// names, so `mapping check --online` points at the very file that adds what
// the org lacks; there is no second list to keep in step.
package orgkit

import (
	"embed"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// Dir is where the kit lives in the repository and in a release.
const Dir = "deploy/salesforce"

// PermissionSet is the kit's permission set: its API name and its file.
const (
	PermissionSet     = "Carebridge_Integration"
	PermissionSetFile = "force-app/main/default/permissionsets/Carebridge_Integration.permissionset-meta.xml"
)

// files holds the kit as deployed: the project file and force-app.
//
//go:embed sfdx-project.json force-app
var files embed.FS

// FS is the kit's files, named relative to Dir.
func FS() fs.FS { return files }

const objectsDir = "force-app/main/default/objects"

// Field returns the kit file that adds field to object (both API names,
// matched ignoring case as Salesforce does), relative to Dir.
func Field(object, field string) (string, bool) {
	dirs, _ := fs.ReadDir(files, objectsDir)
	for _, d := range dirs {
		if !strings.EqualFold(d.Name(), object) {
			continue
		}
		fields, _ := fs.ReadDir(files, path.Join(objectsDir, d.Name(), "fields"))
		for _, f := range fields {
			if strings.EqualFold(f.Name(), field+".field-meta.xml") {
				return path.Join(objectsDir, d.Name(), "fields", f.Name()), true
			}
		}
	}
	return "", false
}

// Object returns the kit file that adds the custom object, relative to Dir.
func Object(object string) (string, bool) {
	dirs, _ := fs.ReadDir(files, objectsDir)
	for _, d := range dirs {
		p := path.Join(objectsDir, d.Name(), d.Name()+".object-meta.xml")
		if strings.EqualFold(d.Name(), object) {
			if _, err := fs.Stat(files, p); err == nil {
				return p, true
			}
		}
	}
	return "", false
}

// FieldRef names one field the kit adds.
type FieldRef struct {
	Object string // API name, e.g. Case
	Field  string // API name, e.g. Care_Case_Id__c
	File   string // relative to Dir
}

// Fields lists every field the kit adds, sorted by object and field.
func Fields() []FieldRef {
	var out []FieldRef
	dirs, _ := fs.ReadDir(files, objectsDir)
	for _, d := range dirs {
		fields, _ := fs.ReadDir(files, path.Join(objectsDir, d.Name(), "fields"))
		for _, f := range fields {
			name, ok := strings.CutSuffix(f.Name(), ".field-meta.xml")
			if !ok {
				continue
			}
			out = append(out, FieldRef{Object: d.Name(), Field: name, File: path.Join(objectsDir, d.Name(), "fields", f.Name())})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Object != out[j].Object {
			return out[i].Object < out[j].Object
		}
		return out[i].Field < out[j].Field
	})
	return out
}

// Where is the advice for a missing object or field: "deploy
// deploy/salesforce (FILE)".
func Where(file string) string { return "deploy " + Dir + " (" + file + ")" }
