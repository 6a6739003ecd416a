// Package mapping is the YAML mapping between Care and Salesforce (SPEC §5).
//
// It parses a mapping file into a typed model that keeps the position of
// every value, validates it offline and against Salesforce describe results
// (reporting every problem at once as FILE:LINE:COL: message), renders Care
// cases, customers and messages into Salesforce records shaped by describe
// (types, lengths), maps statuses both ways, and holds the live mapping with
// reloads on SIGHUP and on file change.
//
// The package knows Care values (package care) and describe results (the
// ObjectInfo shapes defined here); it knows nothing of HTTP or of the
// Salesforce client, which adapts its describe JSON to ObjectInfo.
//
// Decisions worth knowing:
//
//   - Lengths are counted in UTF-16 code units, as Salesforce does (its
//     formula functions and Apex strings count a surrogate pair, e.g. an
//     emoji, as two characters). This is never fewer than the rune count, so
//     a shortened value fits however Salesforce counts. Cuts fall on rune
//     boundaries and never inside an emoji sequence (ZWJ, skin tone,
//     variation selector, flag pair, combining mark).
//   - An empty rendered value is left out of the record, so Salesforce's
//     default applies on create.
//   - A value map without a default leaves the field out for a source value
//     it does not list.
//   - In message digests every message is one line: line breaks inside a
//     message's text become spaces.
//   - An external id field takes its value from the Care external key only
//     (case.external_key; message records from message.external_key), never
//     from ids or data that repeat across installs and restores.
//   - overridable lists what an API caller may set on create. By default it
//     is the mapped fields but the external id field and fields taken for
//     lookups: offline every name ending in "Id" (Id, OwnerId,
//     RecordTypeId, ContactId, ...), and with a describe at render time
//     every reference field too. A listed field is overridable as listed;
//     the external id field never is.
package mapping
