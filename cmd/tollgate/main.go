// Command tollgate is the carrier-billing gateway: one binary whose
// subcommands serve the API, migrate the database, create merchants and
// keys, run the carrier simulator on its own, and bring a test merchant's
// events to a developer's machine (listen, trigger).
//
// The subcommands are a github.com/peterbourgon/ff/v3 ffcli tree: it keeps
// the standard library's flag sets (every flag and its single- or
// double-dash spelling stays as it was), adds nested commands and their
// help, and leaves settings to configs (embedded defaults, --config /
// TOLLGATE_CONFIG, TOLLGATE_* variables, then flags).
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/peterbourgon/ff/v3/ffcli"
)

const usage = `tollgate — carrier-billing gateway

Usage:
  tollgate serve    [--config FILE] [--listen ADDR] [--database-url URL]
  tollgate migrate  [--config FILE] [--database-url URL]
  tollgate merchants create --name NAME [--mode test|live]
  tollgate keys create --role finance|admin | --merchant ID
  tollgate settle   --carrier C --date YYYY-MM-DD [--report FILE] [--rerun]
  tollgate sim      [--listen ADDR]
  tollgate listen   --forward-to URL [--url BASE] [--key KEY]
  tollgate trigger  EVENT [--url BASE] [--key KEY]
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

// execFunc runs a subcommand once its flags are parsed.
type execFunc func(ctx context.Context, args []string) error

// run parses and runs a subcommand. stdout carries only the command's
// result (JSON for merchants/keys); logs go to stderr. --help (or -h) on
// any subcommand prints its usage on stdout and succeeds, before anything
// reads settings or touches a database.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		return usageError{"a subcommand is required"}
	}
	flagOut := stderr
	if wantsHelp(args) {
		flagOut = stdout // the flag set prints its usage there; nothing else runs
	}
	root := commands(stdout, flagOut, stderr, getenv)
	if err := root.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		if inner := errors.Unwrap(err); inner != nil {
			err = inner // ff's "error parsing commandline arguments: " adds nothing
		}
		return usageError{err.Error()}
	}
	return root.Run(ctx)
}

// commands is the subcommand tree. flagOut receives flag errors and help.
func commands(stdout, flagOut, stderr io.Writer, getenv func(string) string) *ffcli.Command {
	leaf := func(name, short string, fs *flag.FlagSet, exec execFunc) *ffcli.Command {
		fs.SetOutput(flagOut)
		return &ffcli.Command{Name: name, ShortUsage: synopsis[fs.Name()], ShortHelp: short, FlagSet: fs, UsageFunc: leafUsage, Exec: exec}
	}
	group := func(name, short string, sub ...*ffcli.Command) *ffcli.Command {
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		fs.SetOutput(flagOut)
		return &ffcli.Command{Name: name, ShortUsage: synopsis[name+" create"], ShortHelp: short, FlagSet: fs, Subcommands: sub,
			UsageFunc: func(c *ffcli.Command) string { return c.ShortUsage + "\n" },
			Exec:      func(context.Context, []string) error { return usageError{synopsis[name+" create"]} }}
	}
	serveFS, serveExec := cmdServe(stdout, stderr, getenv)
	migrateFS, migrateExec := cmdMigrate(stdout, stderr, getenv)
	merchantsFS, merchantsExec := cmdMerchantsCreate(stdout, stderr, getenv)
	keysFS, keysExec := cmdKeysCreate(stdout, stderr, getenv)
	settleFS, settleExec := cmdSettle(stdout, stderr, getenv)
	simFS, simExec := cmdSim(stdout, stderr, getenv)
	listenFS, listenExec := cmdListen(stdout, stderr, getenv)
	triggerFS, triggerExec := cmdTrigger(stdout, stderr, getenv)
	versionFS := flag.NewFlagSet("version", flag.ContinueOnError)

	settle := leaf("settle", "settle one carrier's business day", settleFS, settleExec)
	settle.LongHelp = strings.TrimSpace(settleFiles)
	trigger := leaf("trigger", "make a test event happen through the API", triggerFS, triggerExec)
	trigger.LongHelp = triggerEvents()

	rootFS := flag.NewFlagSet("tollgate", flag.ContinueOnError)
	rootFS.SetOutput(flagOut)
	return &ffcli.Command{
		Name: "tollgate", FlagSet: rootFS,
		UsageFunc: func(*ffcli.Command) string { return usage },
		Subcommands: []*ffcli.Command{
			leaf("serve", "serve the gateway", serveFS, serveExec),
			leaf("migrate", "bring the database schema up to date", migrateFS, migrateExec),
			group("merchants", "create merchants", leaf("create", "create a merchant and its first key", merchantsFS, merchantsExec)),
			group("keys", "create API keys", leaf("create", "create a finance, admin or merchant key", keysFS, keysExec)),
			settle,
			leaf("sim", "run the carrier simulator alone", simFS, simExec),
			leaf("listen", "forward a test merchant's events to a local endpoint, signed", listenFS, listenExec),
			trigger,
			leaf("version", "print the build's version", versionFS, func(ctx context.Context, args []string) error {
				return cmdVersion(ctx, args, stdout)
			}),
		},
		Exec: func(_ context.Context, args []string) error {
			if len(args) > 0 && args[0] == "help" {
				_, err := fmt.Fprint(stdout, usage)
				return err
			}
			if len(args) == 0 {
				return usageError{"a subcommand is required"}
			}
			return usageError{fmt.Sprintf("unknown subcommand %q", args[0])}
		},
	}
}

// leafUsage is a subcommand's --help: its usage line, its flags, then any
// longer help.
func leafUsage(c *ffcli.Command) string {
	var b bytes.Buffer
	b.WriteString(c.ShortUsage + "\n")
	n := 0
	c.FlagSet.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		b.WriteString("\nflags:\n")
		out := c.FlagSet.Output()
		c.FlagSet.SetOutput(&b)
		c.FlagSet.PrintDefaults()
		c.FlagSet.SetOutput(out)
	}
	if c.LongHelp != "" {
		b.WriteString("\n" + c.LongHelp + "\n")
	}
	return b.String()
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

// synopsis is each subcommand's usage line, printed by --help before its flags.
var synopsis = map[string]string{
	"serve":            "usage: tollgate serve [--config FILE] [--listen ADDR] [--database-url URL]",
	"migrate":          "usage: tollgate migrate [--config FILE] [--database-url URL]",
	"merchants create": "usage: tollgate merchants create --name NAME [--mode test|live]",
	"keys create":      "usage: tollgate keys create --role finance|admin | --merchant ID",
	"settle":           "usage: tollgate settle --carrier C --date YYYY-MM-DD [--report FILE] [--rerun]",
	"sim":              "usage: tollgate sim [--listen ADDR] [--config FILE]",
	"listen":           "usage: tollgate listen --forward-to URL [--url BASE] [--key KEY] [--allow-remote]",
	"trigger":          "usage: tollgate trigger EVENT [--url BASE] [--key KEY]",
	"version":          "usage: tollgate version (prints the module version, VCS revision and Go toolchain the binary was built from)",
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
