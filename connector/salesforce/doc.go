// Package salesforce is carebridge's own client for the Salesforce REST API
// and its OAuth 2.0 endpoints.
//
// A [Client] sends data calls (query, CRUD, upsert by external id, sObject
// Collections, composite, describe, search, limits, getUpdated) to the
// instance URL of the token its [Session] hands out. Every method takes a
// context first; one injected *http.Client carries the timeouts.
//
// Failed calls return typed errors: *[APIError] for answers from Salesforce
// (with its errorCode, message and fields), *[OAuthError] for token-endpoint
// failures and *[NetworkError] when no answer arrived. [Classify] sorts any of
// them into [Retryable], [Auth] or [NotRetryable]; the caller (the outbox)
// owns the retry policy. The client itself retries only one thing: a 401 is
// answered by asking the Session to refresh the token that failed, then the
// call is sent once more.
//
// [OAuth] runs the flows that produce tokens: the web-server flow with PKCE,
// the refresh-token grant, the JWT bearer flow, revoke and userinfo.
//
// Tokens never appear in errors or logs: [Token] redacts its secrets in
// String, LogValue and JSON.
package salesforce
