// Package sfsim is an in-memory Salesforce org with a real HTTP surface:
// the same paths, JSON shapes, headers and error bodies as Salesforce, so
// that off-the-shelf clients (jsforce, golang.org/x/oauth2, the project's
// own client) work against it unchanged. It serves OAuth and the /__sim/
// control surface on a login URL, and the REST data API on a separate
// instance URL, as a real org does (data calls sent to the login URL fail).
//
// Use it from Go tests like net/http/httptest:
//
//	srv, err := sfsim.NewServer(sfsim.Options{})
//	if err != nil { ... }
//	defer srv.Close()
//	// OAuth at srv.LoginURL; data at srv.InstanceURL (the token's instance_url)
//
// The files follow the areas of the simulator: server (listeners, options),
// oauth (authorize and token), oauth_sessions (refresh tokens and
// sessions), oauth_jwt (the JWT bearer grant), oidc (userinfo, the identity
// URL, discovery, /id/keys, id tokens), pages (the login form and the
// Lightning record pages), state (the kept org), data (REST routing and
// CRUD), records and validation (the write path), query, query_where,
// query_aggregate and query_cursors (SOQL evaluation; the parser is package
// soql), search (SOSL), collections and composite, describe, schema and
// schemafile (the default org and --schema files), control, stats and
// faults (/__sim/ and its Go equivalents), ids (18-character ids).
//
// # Signing in, browsers and a kept org
//
// The login URL is an OpenID provider as Salesforce is one:
// /.well-known/openid-configuration (issuer = the login URL), /id/keys, and
// an RS256 id_token in the token response when openid was asked for (sub
// is the identity URL, aud the client id; the user's standard claims,
// user_id and organization_id; nonce echoed on the code exchange, none on a
// refresh). With Options.LoginPage authorize shows a login form prefilled
// from login_hint. The instance URL answers /lightning/r/{Object}/{Id}/view
// with an HTML page of the record (a Case embeds Options.CasePageEmbedURL).
// With Options.StateFile the org survives restarts: same ids, users,
// connected app, refresh tokens and id_token key.
//
// # A production org (Options.Strict, sfsim --strict)
//
// Always, as in a real org: CreatedDate, LastModifiedDate and
// SystemModstamp have whole seconds (ORDER BY SystemModstamp, Id is the
// change order); users have a profile (ProfileRestricted may read but not
// write Case.Care_Agent_Email__c: describe as that user says so, a write
// answers INVALID_FIELD_FOR_INSERT_UPDATE) and an org (OrgOther users carry
// OtherOrgID in their identity); getDeleted answers from a 15-day delete
// log. See CreateUserWith, UserInfo, Org and Fault.Target.
//
// With Strict the org also has:
//
//   - an active Case and Lead assignment rule: a write without
//     Sforce-Auto-Assign: FALSE (any case) sets OwnerId to the Group
//     "Support Queue" (00G...). The Go helpers and /__sim/ writes act as
//     the admin in the UI and leave the owner alone;
//   - duplicate rules: Contact (same FirstName, LastName and non-empty
//     Email, case-insensitive) alerts, so
//     Sforce-Duplicate-Rule-Header: allowSave=true saves; Lead (same
//     non-empty Email) blocks. Both answer DUPLICATES_DETECTED with a
//     duplicateResult (matchResults[].matchRecords[].record.Id); in
//     Collections it sits in the record's errors[];
//   - at most 5 refresh tokens per user for the connected app: a 6th
//     approval revokes the oldest and its sessions.
//
// # Fidelity notes
//
// Where ../shared/salesforce-api.md marks behaviour as known from memory
// and it is ambiguous, the simulator takes the most Salesforce-like reading:
//
//   - Upsert that updates answers 200 with created:false from v46.0 and 204
//     before; the created flag on 201 appears from v46.0.
//   - Update or delete of a deleted record: 404 ENTITY_IS_DELETED; GET of a
//     deleted or missing record: 404 NOT_FOUND.
//   - Read-only fields in a body: 400 INVALID_FIELD_FOR_INSERT_UPDATE naming
//     all of them; an Id in an insert: "cannot specify Id in an insert call".
//   - STRING_TOO_LONG counts UTF-16 code units (Java string length), so an
//     emoji counts two; the message is "Label: data value too large: VALUE
//     (max length=N)".
//   - Text external ids and unique fields compare case-insensitively (the
//     default "treat ABC and abc as duplicates"); an empty string is stored
//     as null.
//   - A malformed reference id is MALFORMED_ID, an id of the wrong object is
//     FIELD_INTEGRITY_EXCEPTION, a missing or deleted target is
//     INVALID_CROSS_REFERENCE_KEY.
//   - JSON_PARSER_ERROR messages follow Jackson's wording with the line and
//     column of the offending value.
//   - Access tokens live SessionTTL from issue (Salesforce's timeout slides
//     with activity; a fixed lifetime is easier to test against).
//   - JWT bearer: exp must be in the future and at most a day ahead (which
//     catches milliseconds); Salesforce asks for minutes but clients such as
//     x/oauth2/jwt default to an hour. aud must be the login URL.
//   - Collections with more than 200 records: 400 EXCEEDED_ID_LIMIT; the
//     same external id twice in one upsert call fails both records with
//     DUPLICATE_EXTERNAL_ID.
//   - Composite over 25 subrequests (or over 5 queries and collections):
//     400 LIMIT_EXCEEDED.
//   - Query cursors expire after 15 idle minutes and each user keeps at most
//     10 (opening an 11th releases the oldest): 400 INVALID_QUERY_LOCATOR.
//   - SOSL matches whole words (with * and ? wildcards) in the fields of the
//     IN scope, and indexes at once; Salesforce may take minutes.
//   - Case numbers are 8-digit auto-numbers from 00000001; Lead and Case
//     picklists carry the values a new org ships with (plus Social in Case
//     Origin).
package sfsim
