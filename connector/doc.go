// Package connector holds the Salesforce workflows of carebridge: escalating
// Care cases to Salesforce cases and leads, linking customers to contacts,
// and keeping both sides in step through the outbox (message push, status
// both ways). It talks to Salesforce through connector/salesforce with
// tokens from connector/tokens, and to Care through the store's interface.
package connector
