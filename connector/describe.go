package connector

import (
	"context"
	"errors"
	"fmt"

	"github.com/carebridge/carebridge/connector/salesforce"
	"github.com/carebridge/carebridge/mapping"
)

// Describer adapts Salesforce describe results (cached by the client) to
// what the mapping needs.
type Describer struct {
	Client *salesforce.Client
}

// Describe implements mapping.Describer.
func (d Describer) Describe(ctx context.Context, object string) (*mapping.ObjectInfo, error) {
	desc, err := d.Client.Describe(ctx, object)
	if err != nil {
		var ae *salesforce.APIError
		if errors.Is(err, salesforce.ErrNotFound) || (errors.As(err, &ae) && ae.HasCode("INVALID_TYPE")) {
			return nil, fmt.Errorf("describe %s: %w", object, mapping.ErrObjectNotFound)
		}
		return nil, err
	}
	return ObjectInfo(desc), nil
}

// ObjectInfo converts a describe result.
func ObjectInfo(d *salesforce.SObjectDescribe) *mapping.ObjectInfo {
	info := &mapping.ObjectInfo{Name: d.Name, Fields: make(map[string]mapping.FieldInfo, len(d.Fields))}
	for _, f := range d.Fields {
		fi := mapping.FieldInfo{
			Name: f.Name, Type: f.Type, Length: f.Length, Createable: f.Createable, Updateable: f.Updateable,
			Nillable: f.Nillable, DefaultedOnCreate: f.DefaultedOnCreate, ExternalID: f.ExternalID,
			Restricted: f.RestrictedPicklist, ReferenceTo: f.ReferenceTo,
		}
		for _, p := range f.PicklistValues {
			fi.Picklist = append(fi.Picklist, mapping.PicklistValue{Value: p.Value, Active: p.Active})
		}
		info.Fields[f.Name] = fi
	}
	for _, rt := range d.RecordTypes {
		info.RecordTypes = append(info.RecordTypes, mapping.RecordType{
			ID: rt.RecordTypeID, Name: rt.Name, DeveloperName: rt.DeveloperName, Active: rt.Active, Master: rt.Master,
		})
	}
	return info
}
