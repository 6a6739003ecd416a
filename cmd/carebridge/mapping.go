package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/carebridge/carebridge/config"
	"github.com/carebridge/carebridge/mapping"
)

// errMappingInvalid marks a mapping check that found problems (exit 1, the
// problems printed already).
var errMappingInvalid = errors.New("mapping is invalid")

// mappingCheckCmd is `carebridge mapping check FILE [--config FILE]
// [--online [--as USERNAME]]`.
func mappingCheckCmd(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) error {
	fs := newFlagSet("mapping check", stderr)
	cfgPath := fs.String("config", "", "config `FILE` (for --online: the Salesforce connection)")
	online := fs.Bool("online", false, "also validate against the org's describe")
	as := fs.String("as", "", "with --online: validate as this connected user (the Salesforce `USERNAME` of a stored personal token)")
	// Accept flags before and after FILE.
	var files []string
	rest := args
	for {
		if err := parseFlags(fs, rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(files) != 1 {
		return usageErr("mapping check needs exactly one FILE")
	}
	if *as != "" && !*online {
		return usageErr("--as needs --online")
	}
	var describer mapping.Describer
	if *online {
		cfg, err := config.Load(*cfgPath, environ)
		if err != nil {
			return err
		}
		d, closeFn, err := onlineDescriber(ctx, cfg, *as, stderr)
		if err != nil {
			return fmt.Errorf("--online: %w", err)
		}
		defer closeFn()
		describer = d
	}
	report, err := mapping.CheckFile(ctx, files[0], describer)
	if err != nil {
		return err
	}
	for _, line := range report.Lines() {
		fmt.Fprintln(stdout, line)
	}
	if !report.OK() {
		return errMappingInvalid
	}
	fmt.Fprintf(stdout, "%s: OK\n", files[0])
	return nil
}
