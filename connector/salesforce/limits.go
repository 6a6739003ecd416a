package salesforce

import (
	"context"
	"encoding/json"
	"net/http"
)

// Limit is one entry of the /limits resource.
type Limit struct {
	Max       int64 `json:"Max"`
	Remaining int64 `json:"Remaining"`
}

// Limits is the /limits answer keyed by limit name (DailyApiRequests, ...).
// Per-connected-app sub-entries are not kept.
type Limits map[string]Limit

// DailyAPI returns the daily API request allocation as a LimitInfo.
func (l Limits) DailyAPI() (LimitInfo, bool) {
	d, ok := l["DailyApiRequests"]
	if !ok {
		return LimitInfo{}, false
	}
	return LimitInfo{Used: d.Max - d.Remaining, Max: d.Max}, true
}

// Limits reads the org's limits (GET /limits; figures lag up to 5 minutes;
// the Sforce-Limit-Info header of every answer is fresher).
func (c *Client) Limits(ctx context.Context) (Limits, error) {
	var raw map[string]json.RawMessage
	if err := c.getJSON(ctx, OpLimits, c.DataPath("limits"), nil, &raw); err != nil {
		return nil, err
	}
	out := make(Limits, len(raw))
	for name, v := range raw {
		var l Limit
		if json.Unmarshal(v, &l) == nil {
			out[name] = l
		}
	}
	return out, nil
}

// UserInfo is the OpenID Connect userinfo answer: who the token acts as.
type UserInfo struct {
	Subject           string `json:"sub"` // the identity URL
	UserID            string `json:"user_id"`
	OrganizationID    string `json:"organization_id"`
	PreferredUsername string `json:"preferred_username"` // the Salesforce username
	Nickname          string `json:"nickname"`
	Name              string `json:"name"`
	GivenName         string `json:"given_name"`
	FamilyName        string `json:"family_name"`
	Email             string `json:"email"`
	EmailVerified     bool   `json:"email_verified"`
	ZoneInfo          string `json:"zoneinfo"`
	Locale            string `json:"locale"`
	Language          string `json:"language"`
	UserType          string `json:"user_type"`
	Active            bool   `json:"active"`
}

// UserInfo reads the userinfo of the session's token from the instance
// (GET /services/oauth2/userinfo), refreshing once on a 401 like every call.
func (c *Client) UserInfo(ctx context.Context) (UserInfo, error) {
	var ui UserInfo
	resp, err := c.do(ctx, &request{op: OpUserInfo, method: http.MethodGet, path: "/services/oauth2/userinfo"}, http.StatusOK)
	if err != nil {
		return UserInfo{}, err
	}
	if err := decode(OpUserInfo, resp.body, &ui); err != nil {
		return UserInfo{}, err
	}
	return ui, nil
}
