package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// gatewayConfig is what every node and the simulator read (TOLLGATE_CONFIG)
// over the shipped defaults. The per-key and per-number ceilings and the
// velocity rule are raised, as bench/gateway.yaml does, so the campaign's few
// numbers are not all refused by a risk rule; they still run on every
// charge. A per-merchant monthly cap is set low enough that numbers reach
// it, so "caps never overshot" is tested, not vacuous.
const gatewayConfig = `log_level: warn
database_pool: 12
rate_limits:
  per_key: 1000000/1s
  charges_per_number: 1000000/1m
  sms_per_number: 1000/1m
risk:
  velocity:
    enabled: true
    window: 10m
    max_count: 1000000
    max_amount: {KRW: 1000000000}
spending_caps:
  per_merchant: {"*": {KRW: 40000}}
`

// merchantCap is gatewayConfig's per-merchant monthly cap, and carrierCap
// the shipped carriers' monthly_limit: what the caps check compares with.
const (
	merchantCap = 40000
	carrierCap  = 500000
)

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// moduleRoot is the directory of tollgate's go.mod, wherever the campaign
// is run from (go run ./chaos, or go test in chaos/).
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the tollgate module")
	}
	return filepath.Dir(mod), nil
}

// buildTollgate builds the binary once; every process of the campaign is it.
func buildTollgate(ctx context.Context, dir string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "tollgate")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/tollgate")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %w: %s", err, out)
	}
	return bin, nil
}

// proc is one OS process of the campaign: the simulator or a gateway node.
type proc struct {
	name string
	bin  string
	args []string
	env  []string
	log  string // stdout and stderr go here, appended across restarts

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed once the running process is reaped
}

// start launches the process; it is its own process group, so a kill
// reaches only it.
func (p *proc) start() error {
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(f, "=== start %s\n", time.Now().UTC().Format(time.RFC3339Nano))
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); f.Close(); close(done) }()
	p.mu.Lock()
	p.cmd, p.done = cmd, done
	p.mu.Unlock()
	return nil
}

// kill is kill -9: no drain, no goodbye, whatever it was doing.
func (p *proc) kill() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	select { // reaped by the goroutine in start
	case <-done:
	case <-time.After(10 * time.Second):
	}
}

// stop is a polite SIGTERM, then SIGKILL if it will not go.
func (p *proc) stop() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
	}
}

func (p *proc) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil
}

// waitHTTP polls url until it answers 200, within bound.
func waitHTTP(ctx context.Context, url string, bound time.Duration) error {
	hc := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(bound)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		res, err := hc.Do(req)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s (last: %v)", url, bound, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// command runs a one-shot tollgate subcommand and decodes its JSON output.
func command(ctx context.Context, bin string, env []string, out any, args ...string) error {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("tollgate %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("tollgate %s: %w: %s", strings.Join(args, " "), err, b)
		}
	}
	return nil
}
