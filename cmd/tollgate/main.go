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
  tollgate keys create --role finance|admin
  tollgate settle   --carrier C --date YYYY-MM-DD [--report FILE] [--rerun]
  tollgate sim      [--listen ADDR]

Settings: embedded defaults, then --config / TOLLGATE_CONFIG, then TOLLGATE_* variables, then flags.
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
// (JSON for merchants/keys); logs go to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		return usageError{"a subcommand is required"}
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return cmdServe(ctx, rest, stdout, stderr, getenv)
	case "migrate":
		return cmdMigrate(ctx, rest, stderr, getenv)
	case "merchants":
		if len(rest) == 0 || rest[0] != "create" {
			return usageError{"usage: tollgate merchants create --name NAME [--mode test|live]"}
		}
		return cmdMerchantsCreate(ctx, rest[1:], stdout, stderr, getenv)
	case "keys":
		if len(rest) == 0 || rest[0] != "create" {
			return usageError{"usage: tollgate keys create --role finance|admin"}
		}
		return cmdKeysCreate(ctx, rest[1:], stdout, stderr, getenv)
	case "sim":
		return cmdSim(ctx, rest, stdout, stderr, getenv)
	case "settle":
		return cmdSettle(ctx, rest, stdout, stderr, getenv)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return usageError{fmt.Sprintf("unknown subcommand %q", cmd)}
}

// common flags every subcommand that reads config accepts.
type common struct {
	config, listen, databaseURL string
}

func newFlags(name string, stderr io.Writer) (*flag.FlagSet, *common) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
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
