// Package config loads the daemon's YAML config file (SPEC §2): defaults,
// environment overrides and validation that names FILE:LINE:COL.
//
// # Decoding
//
// The file is decoded over Default(): keys it leaves out keep their
// defaults; a section left empty ("care:" with its keys commented out) does
// too. An empty file, or one holding only comments, is valid. The file is
// walked as a yaml.Node tree rather than decoded into structs, so that every
// problem names its position: unknown keys (with a "did you mean"),
// duplicate keys, wrong types, values out of range, and the rules spanning
// several keys. Every problem is reported at once, in file order, as Errors.
// Aliases are followed; merge keys ("<<") and multiple documents are
// refused.
//
// Relative paths written in the file (data_dir, mapping_file,
// salesforce.client_secret_file, salesforce.jwt.private_key_file) are
// resolved against the directory of the file, so a config and the mapping
// beside it work from any working directory. Defaults and values from the
// environment stay relative to the working directory.
//
// # Environment
//
// Every scalar key may be overridden by CAREBRIDGE_ + its upper-cased path
// joined with "_": CAREBRIDGE_LISTEN, CAREBRIDGE_CARE_GRACE_PERIOD,
// CAREBRIDGE_SALESFORCE_POLL_INTERVAL, CAREBRIDGE_SALESFORCE_JWT_USERNAME...
// CAREBRIDGE_SALESFORCE_EMBED_FRAME_ANCESTORS takes a comma- or
// space-separated list. An empty variable counts as unset. Users
// (auth.users) cannot come from the environment; setting
// CAREBRIDGE_AUTH_USERS is an error that says so. Other unknown CAREBRIDGE_*
// variables are ignored: CAREBRIDGE_SECRET_KEY and
// CAREBRIDGE_SALESFORCE_CLIENT_SECRET are read by Config methods, and more
// may be added. A bad value in a known variable is a problem named
// "env CAREBRIDGE_X: message".
//
// The package never reads the process environment itself: callers pass
// os.Environ() (tests pass their own list), and the Config keeps it for
// ClientSecret and SecretKeyEnv.
package config
