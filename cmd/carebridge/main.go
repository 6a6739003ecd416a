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
	"runtime/debug"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

const usage = `usage: carebridge <command> [flags]

commands:
  serve [--config FILE]                          run the daemon
  demo [--listen ADDR] [--data-dir DIR]          run the daemon against a simulated Salesforce org
  mapping check FILE [--config FILE] [--online]  validate a mapping file
  token hash                                     print the SHA-256 of a token read on stdin
  db check --data-dir DIR                        check a stopped daemon's database in full
  backup --url URL --token-file F --out FILE     save a backup of the running daemon's database
  version                                        print the version
`

// errUsage marks command-line mistakes (exit status 2).
var errUsage = errors.New("usage")

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
	case err == nil:
		return 0
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
	switch cmd {
	case "serve":
		return serveCmd(ctx, rest, stderr, environ)
	case "demo":
		return demoCmd(ctx, rest, stdout, stderr, environ)
	case "mapping":
		if len(rest) == 0 || rest[0] != "check" {
			return usageErr("mapping needs the subcommand check")
		}
		return mappingCheckCmd(ctx, rest[1:], stdout, stderr, environ)
	case "token":
		if len(rest) != 1 || rest[0] != "hash" {
			return usageErr("token needs the subcommand hash")
		}
		return tokenHash(stdin, stdout)
	case "db":
		return dbCmd(rest, stdout, stderr)
	case "backup":
		return backupCmd(ctx, rest, stdout, stderr)
	case "version", "--version", "-v":
		if len(rest) != 0 {
			return usageErr("version takes no arguments")
		}
		fmt.Fprintln(stdout, "carebridge", versionString())
		return nil
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return usageErr("unknown command %q", cmd)
}

// newFlagSet builds a flag set whose errors are usage errors.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return usageErr("")
		}
		return usageErr("%v", err)
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

func versionString() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " (" + s.Value[:12] + ")"
		}
	}
	if v == "" {
		v = "devel"
	}
	return v
}
