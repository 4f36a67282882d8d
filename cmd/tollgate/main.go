// Command tollgate is the carrier-billing gateway: one binary whose
// subcommands serve the API, migrate the database, create merchants and
// keys, and run the carrier simulator on its own.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

const usage = `tollgate — carrier-billing gateway

Usage:
  tollgate serve    [--config FILE] [--listen ADDR] [--database-url URL]
  tollgate migrate  [--config FILE] [--database-url URL]
  tollgate merchants create --name NAME [--mode test|live]
  tollgate keys create --role finance|admin | --merchant ID
  tollgate settle   --carrier C --date YYYY-MM-DD [--report FILE] [--rerun]
  tollgate sim      [--listen ADDR]
  tollgate version

Every subcommand takes --help. Settings: embedded defaults, then --config / TOLLGATE_CONFIG, then TOLLGATE_* variables, then flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv); err != nil {
		var u usageError
		if errors.As(err, &u) {
			fmt.Fprint(os.Stderr, usage)
			fmt.Fprintln(os.Stderr, "\ntollgate:", err)
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "tollgate:", err)
		os.Exit(1)
	}
}

type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

// run dispatches a subcommand. stdout carries only the command's result
// (JSON for merchants/keys); logs go to stderr. --help (or -h) on any
// subcommand prints its usage on stdout and succeeds.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		return usageError{"a subcommand is required"}
	}
	cmd, rest := args[0], args[1:]
	if wantsHelp(rest) {
		stderr = stdout // the flag set prints its usage there; nothing else runs
	}
	err := dispatch(ctx, cmd, rest, stdout, stderr, getenv)
	var u usageError
	if errors.As(err, &u) && u.msg == flag.ErrHelp.Error() {
		return nil
	}
	return err
}

// wantsHelp reports whether a help flag comes before the end of the flags.
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

func dispatch(ctx context.Context, cmd string, rest []string, stdout, stderr io.Writer, getenv func(string) string) error {
	switch cmd {
	case "serve":
		return cmdServe(ctx, rest, stdout, stderr, getenv)
	case "migrate":
		return cmdMigrate(ctx, rest, stdout, stderr, getenv)
	case "merchants", "keys":
		if len(rest) > 0 && wantsHelp(rest[:1]) {
			fmt.Fprintln(stdout, synopsis[cmd+" create"])
			return nil
		}
		if len(rest) == 0 || rest[0] != "create" {
			return usageError{synopsis[cmd+" create"]}
		}
		if cmd == "merchants" {
			return cmdMerchantsCreate(ctx, rest[1:], stdout, stderr, getenv)
		}
		return cmdKeysCreate(ctx, rest[1:], stdout, stderr, getenv)
	case "sim":
		return cmdSim(ctx, rest, stdout, stderr, getenv)
	case "settle":
		return cmdSettle(ctx, rest, stdout, stderr, getenv)
	case "version":
		if len(rest) > 0 && wantsHelp(rest[:1]) {
			fmt.Fprintln(stdout, synopsis[cmd])
			return nil
		}
		return cmdVersion(ctx, rest, stdout)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return usageError{fmt.Sprintf("unknown subcommand %q", cmd)}
}

// synopsis is each subcommand's usage line, printed by --help before its flags.
var synopsis = map[string]string{
	"serve":            "usage: tollgate serve [--config FILE] [--listen ADDR] [--database-url URL]",
	"migrate":          "usage: tollgate migrate [--config FILE] [--database-url URL]",
	"merchants create": "usage: tollgate merchants create --name NAME [--mode test|live]",
	"keys create":      "usage: tollgate keys create --role finance|admin | --merchant ID",
	"settle":           "usage: tollgate settle --carrier C --date YYYY-MM-DD [--report FILE] [--rerun]",
	"sim":              "usage: tollgate sim [--listen ADDR] [--config FILE]",
	"version":          "usage: tollgate version (prints the module version, VCS revision and Go toolchain the binary was built from)",
}

// setUsage makes a flag set's -h print the subcommand's usage line and flags.
func setUsage(fs *flag.FlagSet) {
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "%s\n\nflags:\n", synopsis[fs.Name()])
		fs.PrintDefaults()
	}
}

// common flags every subcommand that reads config accepts.
type common struct {
	config, listen, databaseURL string
}

func newFlags(name string, stderr io.Writer) (*flag.FlagSet, *common) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	setUsage(fs)
	c := &common{}
	fs.StringVar(&c.config, "config", "", "YAML configuration file (or TOLLGATE_CONFIG)")
	fs.StringVar(&c.listen, "listen", "", "address to listen on (or TOLLGATE_LISTEN)")
	fs.StringVar(&c.databaseURL, "database-url", "", "postgres://… or sqlite:PATH (or TOLLGATE_DATABASE_URL)")
	return fs, c
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}
