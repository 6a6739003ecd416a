package console

import (
	"context"
	"net/http"
	"regexp"

	"github.com/carebridge/carebridge/care"
)

// CaseKeys finds a case by its external key (a *bolt.Store).
type CaseKeys interface {
	CaseByExternalKey(ctx context.Context, key string) (care.Case, error)
}

// externalKeyPattern is what /embed/cases/{id} takes as an external key
// (SPEC §11: 26 URL-safe characters; longer values of records escalated
// before keys existed too).
const externalKeyPattern = `[0-9A-Za-z_-]{20,64}`

var externalKey = regexp.MustCompile(`^` + externalKeyPattern + `$`)

// caseByKey is the id of the case whose external key is key.
func (c *Console) caseByKey(r *http.Request, key string) (int64, bool) {
	cs, err := c.cases.CaseByExternalKey(r.Context(), key)
	if err != nil {
		if !care.IsNotFound(err) {
			c.log.ErrorContext(r.Context(), "embed case by external key", "err", err)
		}
		return 0, false
	}
	return cs.ID, true
}
