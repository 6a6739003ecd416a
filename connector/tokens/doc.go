// Package tokens is the Salesforce token pool (SPEC §6 "Tokens" and "Which
// token"): one default token and personal tokens per Care user, stored
// encrypted, refreshed single-flight, kept alive, and handed out as ready
// clients.
//
// # Storage
//
// Every entry (store key "default" or "user/<care user id>") is one
// AES-256-GCM record in a Store (the daemon passes store.KV(Namespace)): a
// version byte, a random 12-byte nonce per write, and the sealed JSON of the
// token secrets, the Salesforce identity and the health. The store key is
// the additional data, so a record moved under another key does not open.
// The key comes from CAREBRIDGE_SECRET_KEY or data_dir/secret.key (LoadKey).
//
// # Sessions and refresh
//
// The client of an entry uses a salesforce.Session that reads the entry on
// every call. On a 401 the client asks it to refresh: one renewal per entry
// runs at a time, and callers whose stale token was already replaced get the
// new one without another call. A refresh token rotated by Salesforce is
// stored before the new access token is handed out. Only an invalid_grant
// (revoked, expired, inactive user) marks the entry expired (unhealthy); it
// stays so until connected again. A network error, a 5xx, a 429 or
// unknown_error is retried with a new backoff per renewal (RenewBackoff)
// and leaves the entry as it was; invalid_client makes the state
// misconfigured, with the reason in Status.Error. For the JWT default
// token, a renewal is a new JWT bearer grant.
//
// # One org
//
// The first default token binds the pool to its org (stored under the key
// "org"); Connect refuses a token of another org with ErrOrgMismatch and
// revokes it at once. Every token Connect does not keep, and every
// refresh token a reconnect replaces, is revoked: an org keeps only 5
// approvals per user and connected app. With Options.OrgID naming another
// org than the stored tokens', those are set aside at Open (kept, not
// used) until a token of the configured org arrives, by Connect or by the
// JWT bearer flow alike, or Forget: then they are revoked and deleted.
//
// # Lost key
//
// Entries that do not open with the key are left on disk and skipped: the
// pool opens not_connected with Status.Error LostKeyError, and the first
// successful Connect (or JWT bearer grant) deletes them. Forget revokes and deletes everything,
// the org id too.
//
// # Choosing a token
//
//	conn, err := pool.ForUser(ctx, agent.ID) // escalation, contact search
//	conn, err := pool.Background(ctx)        // pushes, status updates, polling
//	if errors.Is(err, tokens.ErrNoHealthyToken) { /* 503 salesforce_connection_expired, or park */ }
//	id, err := conn.Client.Create(ctx, "Case", fields)
//	if salesforce.Classify(err) == salesforce.Auth { /* token expired meanwhile: choose again, or WaitHealthy */ }
//
// Keep the *Conn only for one piece of work; choose again for the next, so
// the choice follows the tokens' health. Clients are cached per entry, so
// choosing is cheap and describe caches survive.
//
// # Lifecycle
//
// Open loads the entries (and obtains the JWT default token when configured
// and missing); Run keeps them alive until its context ends. Connect stores a
// token from the OAuth web flow (connector/sfapi calls it);
// DisconnectUser/DisconnectDefault revoke and delete; Forget drops all.
package tokens
