// Command carebridge is the daemon that keeps a Care case store in step with
// one Salesforce org, and its admin commands.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// commands are the subcommands with their arguments and a one-line
// summary: the global usage and each command's --help are built from them.
var commands = []struct{ name, args, summary string }{
	{"init", "[--dir DIR] [--public-url URL] [--login-url URL] [--salesforce-org-id ID] [--email EMAIL] [--force]", "write a first config, mapping, data directory and supervisor"},
	{"user add", "--config FILE --name NAME --email EMAIL --role ROLE [--id ID]", "add a user to the config file and print their token once"},
	{"serve", "[--config FILE]", "run the daemon"},
	{"demo", "[--listen ADDR] [--data-dir DIR] [--strict]", "run the daemon against a simulated Salesforce org"},
	{"mapping check", "FILE [--config FILE] [--online [--as USERNAME]]", "validate a mapping file"},
	{"token hash", "", "print the SHA-256 of a token read on stdin"},
	{"db check", "--data-dir DIR", "check a stopped daemon's database in full"},
	{"backup", "--url URL --token-file F --out FILE", "save a backup of the running daemon's database"},
	{"healthcheck", "[--url URL | --config FILE] [--ready]", "ask a running daemon whether it is healthy (exit 0 or 1)"},
	{"version", "", "print the version and VCS revision"},
}

// usage is the global usage text.
var usage = func() string {
	var b strings.Builder
	b.WriteString("usage: carebridge <command> [flags]\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  %s\n        %s\n", strings.TrimSpace(c.name+" "+c.args), c.summary)
	}
	b.WriteString("\n`carebridge <command> --help` describes a command's flags.\n")
	return b.String()
}()

// printCommandUsage writes the synopsis and summary of the command name.
func printCommandUsage(w io.Writer, name string) {
	for _, c := range commands {
		if c.name == name {
			fmt.Fprintf(w, "usage: carebridge %s\n\n%s.\n", strings.TrimSpace(c.name+" "+c.args), strings.ToUpper(c.summary[:1])+c.summary[1:])
			return
		}
	}
	fmt.Fprint(w, usage)
}

// errUsage marks command-line mistakes (exit status 2).
var errUsage = errors.New("usage")

// errUsageShown is a command-line mistake whose message and usage are
// printed already (exit status 2); errHelp a --help answered (exit 0).
var (
	errUsageShown = fmt.Errorf("%w shown", errUsage)
	errHelp       = errors.New("help shown")
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Environ()))
}

// run executes one command and returns the process exit status: 0 on
// success (and after a clean shutdown), 1 on an error, 2 on bad usage.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, environ []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	err := dispatch(ctx, args, stdin, stdout, stderr, environ)
	switch {
	case err == nil, errors.Is(err, errHelp):
		return 0
	case errors.Is(err, errUsageShown):
		return 2
	case errors.Is(err, errUsage):
		if msg := strings.TrimPrefix(err.Error(), errUsage.Error()); msg != "" {
			fmt.Fprintln(stderr, "carebridge:"+strings.TrimPrefix(msg, ":"))
		}
		fmt.Fprint(stderr, usage)
		return 2
	case errors.Is(err, errMappingInvalid):
		return 1 // the problems are printed already
	default:
		fmt.Fprintln(stderr, "carebridge:", err)
		return 1
	}
}

func usageErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errUsage}, args...)...)
}

func dispatch(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, environ []string) error {
	if len(args) == 0 {
		return usageErr("no command")
	}
	cmd, rest := args[0], args[1:]
	// A subcommand's name is part of the command ("mapping check").
	switch cmd {
	case "mapping", "token", "db", "user":
		if len(rest) > 0 && !isHelpFlag(rest[0]) {
			cmd, rest = cmd+" "+rest[0], rest[1:]
		}
	}
	if helpAsked(rest) {
		// --help is an answer, not a mistake: on stdout.
		stderr = stdout
	}
	switch cmd {
	case "serve":
		return serveCmd(ctx, rest, stderr, environ)
	case "demo":
		return demoCmd(ctx, rest, stdout, stderr, environ)
	case "init":
		return initCmd(rest, stdout, stderr, environ)
	case "user add":
		return userAddCmd(rest, stdout, stderr)
	case "mapping check":
		return mappingCheckCmd(ctx, rest, stdout, stderr, environ)
	case "token hash":
		if err := noFlags(cmd, rest, stderr); err != nil {
			return err
		}
		return tokenHash(stdin, stdout)
	case "db check":
		return dbCmd(append([]string{"check"}, rest...), stdout, stderr)
	case "backup":
		return backupCmd(ctx, rest, stdout, stderr)
	case "healthcheck":
		return healthcheckCmd(ctx, rest, stdout, stderr, environ)
	case "version", "--version", "-v":
		if err := noFlags("version", rest, stderr); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "carebridge", versionString())
		return nil
	case "help", "--help", "-h", "-help":
		fmt.Fprint(stdout, usage)
		return nil
	case "mapping", "token", "db", "user":
		if helpAsked(rest) {
			fmt.Fprint(stdout, usage)
			return errHelp
		}
		sub := map[string]string{"mapping": "check", "token": "hash", "db": "check", "user": "add"}[cmd]
		return usageErr("%s needs the subcommand %s", cmd, sub)
	}
	return usageErr("unknown command %q", cmd)
}

func isHelpFlag(a string) bool { return a == "-h" || a == "-help" || a == "--help" }

// helpAsked reports whether args ask for help before any "--".
func helpAsked(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if isHelpFlag(a) {
			return true
		}
	}
	return false
}

// noFlags checks the arguments of a command that takes none.
func noFlags(name string, args []string, stderr io.Writer) error {
	if helpAsked(args) {
		printCommandUsage(stderr, name)
		return errHelp
	}
	if len(args) != 0 {
		fmt.Fprintf(stderr, "carebridge: %s takes no arguments\n", name)
		printCommandUsage(stderr, name)
		return errUsageShown
	}
	return nil
}

// newFlagSet builds a flag set for the command name (as in commands) whose
// errors are usage errors; its usage names the command and its flags.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		printCommandUsage(fs.Output(), name)
		fmt.Fprintln(fs.Output(), "\nflags:")
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args; the flag package has printed the mistake (or the
// help asked for) and the command's usage already.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return fmt.Errorf("%w: %v", errUsageShown, err)
	}
	return nil
}

// tokenHash prints the SHA-256 hex of the token on stdin, ignoring one
// trailing newline.
func tokenHash(stdin io.Reader, stdout io.Writer) error {
	b, err := io.ReadAll(io.LimitReader(stdin, 1<<16))
	if err != nil {
		return fmt.Errorf("read token: %w", err)
	}
	tok := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if tok == "" {
		return errors.New("no token on stdin")
	}
	sum := sha256.Sum256([]byte(tok))
	fmt.Fprintln(stdout, hex.EncodeToString(sum[:]))
	return nil
}
