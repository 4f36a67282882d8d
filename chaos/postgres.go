package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// errNoPostgres: this machine has no PostgreSQL server binaries to make a
// cluster of the campaign's own.
var errNoPostgres = errors.New("no PostgreSQL server binaries (initdb, pg_ctl): install postgresql")

// cluster is a PostgreSQL cluster the campaign owns: made with initdb in a
// temporary directory, listening on 127.0.0.1 only, restarted and removed
// by the campaign. It never touches the machine's shared server, so its
// restart disturbs no one else's tests.
type cluster struct {
	bin  string // directory holding initdb and pg_ctl
	dir  string
	port int
	// asPostgres: PostgreSQL refuses to run as root, so when we are root
	// its commands run as the postgres user.
	asPostgres bool
}

// pgBinDir finds initdb and pg_ctl: pg_config's bindir, else Debian's
// versioned directories.
func pgBinDir() (string, error) {
	var dirs []string
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dirs = append(dirs, strings.TrimSpace(string(out)))
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	for i := len(matches) - 1; i >= 0; i-- { // the newest version first
		dirs = append(dirs, matches[i])
	}
	for _, d := range dirs {
		if isFile(filepath.Join(d, "initdb")) && isFile(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	return "", errNoPostgres
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// newCluster makes and starts a cluster on a free loopback port.
func newCluster(ctx context.Context) (*cluster, error) {
	bin, err := pgBinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "tollgate-chaos-pg-")
	if err != nil {
		return nil, err
	}
	c := &cluster{bin: bin, dir: dir, asPostgres: os.Geteuid() == 0}
	if c.asPostgres {
		u, err := user.Lookup("postgres")
		if err != nil {
			_ = os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root, and PostgreSQL will not: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
	}
	if c.port, err = freePort(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if out, err := c.command(ctx, "initdb", "-D", c.data(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %w: %s", err, out)
	}
	if err := c.pgCtl(ctx, "start"); err != nil {
		c.remove()
		return nil, err
	}
	return c, nil
}

func (c *cluster) data() string { return filepath.Join(c.dir, "data") }

// URL is the database URL of one database on the cluster, straight to the
// server (the gateways get theirs through a proxy).
func (c *cluster) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

// Addr is the server's host:port.
func (c *cluster) Addr() string { return fmt.Sprintf("127.0.0.1:%d", c.port) }

func (c *cluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	path := filepath.Join(c.bin, name)
	if c.asPostgres {
		return exec.CommandContext(ctx, "runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	}
	return exec.CommandContext(ctx, path, args...)
}

// pgCtl runs pg_ctl start, restart or stop and waits for it to finish.
// fsync is off: the campaign restarts the server cleanly (-m fast), which
// writes everything out whatever fsync says, and the machine is shared.
func (c *cluster) pgCtl(ctx context.Context, action string, extra ...string) error {
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off", c.port, c.dir)
	args := append([]string{"-D", c.data(), "-l", filepath.Join(c.dir, "server.log"), "-w", "-t", "120"}, extra...)
	if action != "stop" {
		args = append(args, "-o", opts)
	}
	args = append(args, action)
	if out, err := c.command(ctx, "pg_ctl", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("pg_ctl %s: %w: %s", action, err, out)
	}
	return nil
}

// Restart is the campaign's PostgreSQL restart: a fast shutdown (open
// sessions are ended) and a start, as an operator's restart does.
func (c *cluster) Restart(ctx context.Context) error {
	return c.pgCtl(ctx, "restart", "-m", "fast")
}

// createDatabase makes a database with the cluster's own psql, over its socket.
func (c *cluster) createDatabase(ctx context.Context, name string) error {
	out, err := c.command(ctx, "psql", "-h", c.dir, "-p", strconv.Itoa(c.port), "-U", "postgres", "-d", "postgres", "-qc", "CREATE DATABASE "+name).CombinedOutput()
	if err != nil {
		return fmt.Errorf("create database %s: %w: %s", name, err, out)
	}
	return nil
}

// remove stops the server at once and deletes the cluster. It runs on
// every way out, Ctrl-C and failures included, so no server is left.
func (c *cluster) remove() {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_ = c.pgCtl(ctx, "stop", "-m", "immediate")
	_ = os.RemoveAll(c.dir)
}
