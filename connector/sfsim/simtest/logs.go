package simtest

import "github.com/carebridge/carebridge/connector/testworld/testlog"

// Logs collects the JSON log lines of a test world from many goroutines.
type Logs = testlog.Logs
