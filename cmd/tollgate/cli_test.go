package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"tollgate/internal/store"
)

// TestSubcommandHelp: --help on every subcommand prints its usage on
// stdout and succeeds, before it reads settings or touches a database.
func TestSubcommandHelp(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "help.db")
	getenv := func(k string) string {
		return map[string]string{"TOLLGATE_DATABASE_URL": "sqlite:" + db, "TOLLGATE_LOG_LEVEL": "error"}[k]
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--help"}, "-listen"},
		{[]string{"migrate", "-h"}, "-database-url"},
		{[]string{"merchants", "create", "--help"}, "-name"},
		{[]string{"merchants", "--help"}, "merchants create --name"},
		{[]string{"keys", "create", "--help"}, "-merchant"},
		{[]string{"keys", "-h"}, "keys create --role"},
		{[]string{"settle", "--help"}, "-rerun"},
		{[]string{"settle", "--carrier", "skt", "-help"}, "-report"},
		{[]string{"settle", "--help"}, "TOLLGATE_SIM_URL"},
		{[]string{"sim", "--help"}, "-listen"},
		{[]string{"--help"}, "tollgate settle"},
		{[]string{"--help"}, "tollgate version"},
		{[]string{"version", "--help"}, "VCS revision"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), c.args, &stdout, &stderr, getenv)
		if err != nil || !strings.Contains(stdout.String(), c.want) || !strings.Contains(stdout.String(), "usage") && !strings.Contains(stdout.String(), "Usage") {
			t.Errorf("%v: err %v, stdout %q, stderr %q; want usage naming %q and no error", c.args, err, stdout.String(), stderr.String(), c.want)
		}
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("--help touched the database: %v", err)
	}
	// A wrong flag is still a usage error (exit 2).
	var out bytes.Buffer
	var u usageError
	if err := run(context.Background(), []string{"settle", "--nope"}, &out, &out, getenv); err == nil || !asUsage(err, &u) {
		t.Errorf("settle --nope: %v, want a usage error", err)
	}
}

func asUsage(err error, u *usageError) bool {
	v, ok := err.(usageError)
	if ok {
		*u = v
	}
	return ok
}

// TestAdminCommandsPrintOneJSONObject: migrate, merchants create and keys
// create each print exactly one JSON object on stdout; keys create
// --merchant makes a working key of the merchant's mode.
func TestAdminCommandsPrintOneJSONObject(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "admin.db")
	getenv := func(k string) string {
		return map[string]string{"TOLLGATE_DATABASE_URL": "sqlite:" + db, "TOLLGATE_SECRET_KEY": testSecret, "TOLLGATE_LOG_LEVEL": "error"}[k]
	}
	one := func(args ...string) map[string]any {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), args, &stdout, &stderr, getenv); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, stderr.String())
		}
		var v map[string]any
		dec := json.NewDecoder(&stdout)
		if err := dec.Decode(&v); err != nil || dec.More() {
			t.Fatalf("%v: stdout is not one JSON object: %v %q", args, err, stdout.String())
		}
		return v
	}
	if v := one("migrate"); v["migrations_applied"].(float64) < 1 {
		t.Errorf("first migrate: %v", v)
	}
	// The job queue's tables come with it: serve must find nothing to do.
	st, err := store.Open(context.Background(), "sqlite:"+db)
	if err != nil {
		t.Fatal(err)
	}
	var jobsTable int64
	err = st.DB.Raw("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'river_job'").Scan(&jobsTable).Error
	_ = st.Close()
	if err != nil || jobsTable != 1 {
		t.Fatalf("migrate left out the job queue's tables (%d, %v)", jobsTable, err)
	}
	if v := one("migrate"); v["migrations_applied"].(float64) != 0 {
		t.Errorf("second migrate: %v", v)
	}
	m := one("merchants", "create", "--name", "Gem Store")
	k := one("keys", "create", "--merchant", m["merchant_id"].(string))
	if key, _ := k["api_key"].(string); !strings.HasPrefix(key, "tg_test_") || key == m["api_key"] {
		t.Errorf("keys create --merchant: %v (merchant's first key %v)", k, m["api_key"])
	}
	if k := one("keys", "create", "--role", "finance"); !strings.HasPrefix(k["api_key"].(string), "tg_fin_") {
		t.Errorf("finance key: %v", k)
	}
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"keys", "create", "--merchant", "mer_nobody"}, &stdout, &stderr, getenv); err == nil || stdout.Len() != 0 {
		t.Errorf("key for a merchant that does not exist: %v %q", err, stdout.String())
	}
}

// TestSettleProgressKeepsLogsOffTheBar: log lines written while the
// progress line is up come out after it is cleared; the line shows the
// lines read, with no made-up total or rate; off a terminal it prints
// nothing.
func TestSettleProgressKeepsLogsOffTheBar(t *testing.T) {
	t.Parallel()
	var term bytes.Buffer
	logs := &heldWriter{w: &term}
	show, finish := progressLine(&term, true, "settling skt 2026-11-24")
	logs.hold()
	show(8192)
	if _, err := logs.Write([]byte(`{"msg":"settlement completed"}` + "\n")); err != nil {
		t.Fatal(err)
	}
	show(16384)
	finish()
	if !strings.Contains(term.String(), "8192 lines read") || strings.Contains(term.String(), "settlement completed") {
		t.Errorf("while running: %q", term.String())
	}
	if err := logs.release(); err != nil {
		t.Fatal(err)
	}
	got := term.String()
	if !strings.HasSuffix(got, `{"msg":"settlement completed"}`+"\n") || strings.Contains(got, "/-") || strings.Contains(got, "it/s") || strings.Contains(got, "lines/s") {
		t.Errorf("terminal shows %q", got)
	}
	// Not held: straight through.
	if _, err := logs.Write([]byte("after\n")); err != nil || !strings.HasSuffix(term.String(), "after\n") {
		t.Errorf("after release: %v %q", err, term.String())
	}
	var pipe bytes.Buffer
	show, finish = progressLine(&pipe, false, "settling")
	show(10)
	finish()
	if pipe.Len() != 0 {
		t.Errorf("not a terminal, yet: %q", pipe.String())
	}
}

// TestDocsLinksResolve: every Markdown link in README.md and docs/*.md is
// relative and names a file or folder of the repository (and, with a
// #fragment, a heading of that Markdown file): a fresh clone has them all.
func TestDocsLinksResolve(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"api.md", "operations.md"} {
		if _, err := os.Stat(filepath.Join(root, "docs", want)); err != nil {
			t.Errorf("docs/%s: %v", want, err)
		}
	}
	files = append([]string{filepath.Join(root, "README.md")}, files...)
	inline := regexp.MustCompile(`\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)`)
	reference := regexp.MustCompile(`^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$`)
	html := regexp.MustCompile(`(?i)<a\s[^>]*href="([^"]*)"`)
	n := 0
	for _, f := range files {
		name, _ := filepath.Rel(root, f)
		for _, l := range markdownLinks(t, f, inline, reference, html) {
			n++
			check := func(msg string) { t.Errorf("%s:%d: link %q: %s", name, l.line, l.target, msg) }
			target := l.target
			if target == "" {
				check("empty")
				continue
			}
			if regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`).MatchString(target) || strings.HasPrefix(target, "//") {
				check("not relative: a fresh clone must hold every link's target")
				continue
			}
			path, frag, _ := strings.Cut(target, "#")
			dest := f
			if path != "" {
				if strings.HasPrefix(path, "/") {
					check("absolute path")
					continue
				}
				dest = filepath.Join(filepath.Dir(f), filepath.FromSlash(path))
				if rel, err := filepath.Rel(root, dest); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
					check("outside the repository")
					continue
				}
				if _, err := os.Stat(dest); err != nil {
					check("no such file in the repository")
					continue
				}
			}
			if frag != "" && strings.HasSuffix(dest, ".md") {
				if _, ok := headingSlugs(t, dest)[frag]; !ok {
					check("no such heading")
				}
			}
		}
	}
	if n == 0 {
		t.Error("found no links at all: the parser is broken")
	}
}

type mdLink struct {
	target string
	line   int
}

// markdownLinks lists a Markdown file's links, outside code blocks and
// code spans.
func markdownLinks(t *testing.T, path string, res ...*regexp.Regexp) []mdLink {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var links []mdLink
	fenced := false
	span := regexp.MustCompile("`[^`]*`")
	sc := bufio.NewScanner(bytes.NewReader(b))
	for i := 1; sc.Scan(); i++ {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		line = span.ReplaceAllString(line, "``")
		for _, re := range res {
			for _, m := range re.FindAllStringSubmatch(line, -1) {
				links = append(links, mdLink{m[1], i})
			}
		}
	}
	return links
}

// headingSlugs are the anchors GitHub gives a Markdown file's headings.
func headingSlugs(t *testing.T, path string) map[string]struct{} {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	slugs := map[string]struct{}{}
	seen := map[string]int{}
	fenced := false
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
		}
		if fenced || !strings.HasPrefix(line, "#") {
			continue
		}
		h := strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#")))
		var sb strings.Builder
		for _, r := range h {
			switch {
			case r == ' ':
				sb.WriteRune('-')
			case r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r > 127 && !strings.ContainsRune("—–→’“”…·", r):
				sb.WriteRune(r)
			}
		}
		s := sb.String()
		if k := seen[s]; k > 0 {
			slugs[s+"-"+string(rune('0'+k))] = struct{}{}
		} else {
			slugs[s] = struct{}{}
		}
		seen[s]++
	}
	return slugs
}

// migrate checks every setting as serve does before it creates or migrates
// the database: a bad one stops it with one line naming the setting, and
// no tollgate.db is left behind.
func TestMigrateChecksBeforeTouchingTheDatabase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, yaml string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	badProtocol := write("protocol.yaml", "carriers:\n  - {name: pigeon, protocol: smoke-signals, simulated: true, country: KR, currencies: [KRW], min_amount: 1, max_amount: 10}\n")
	noSecret := write("nosecret.yaml", "carriers:\n  - {name: lgu, protocol: tokenpay, simulated: true, country: KR, currencies: [KRW], min_amount: 1, max_amount: 10}\n")
	badZone := write("zone.yaml", "carriers:\n  - {name: skt, protocol: camara, simulated: true, country: KR, currencies: [KRW], min_amount: 1, max_amount: 10, refund_window: {kind: calendar_month, time_zone: Mars/Olympus}}\n")
	for _, c := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"unknown protocol", map[string]string{"TOLLGATE_CONFIG": badProtocol}, "carriers[0].protocol"},
		{"tokenpay carrier without its webhook secret", map[string]string{"TOLLGATE_CONFIG": noSecret}, "webhook_secret"},
		{"unknown refund window zone", map[string]string{"TOLLGATE_CONFIG": badZone}, "carriers[0].refund_window.time_zone"},
		{"unusable secret key", map[string]string{"TOLLGATE_SECRET_KEY": "c2hvcnQ="}, "secret_key"},
		{"sim_url not a URL", map[string]string{"TOLLGATE_SIM_URL": "127.0.0.1:9090"}, "sim_url"},
	} {
		t.Run(c.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "tollgate.db")
			c.env["TOLLGATE_DATABASE_URL"] = "sqlite:" + db
			c.env["TOLLGATE_LOG_LEVEL"] = "error"
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), []string{"migrate"}, &stdout, &stderr, func(k string) string { return c.env[k] })
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("migrate: %v, want one line naming %s", err, c.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("a refused migrate printed %q", stdout.String())
			}
			for _, p := range []string{db, db + ".secret", db + "-wal", db + "-shm"} {
				if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s exists after a refused migrate (%v)", filepath.Base(p), err)
				}
			}
		})
	}
}
