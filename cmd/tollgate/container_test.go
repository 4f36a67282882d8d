package main

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dockerBuild is the build command of the Dockerfile's build stage; the test
// below builds the binary the same way and fails if the Dockerfile changes
// it without this test.
const dockerBuild = `CGO_ENABLED=0 go build -buildvcs=auto -trimpath -ldflags="-s -w" -o /out/tollgate ./cmd/tollgate`

// TestBinaryAsTheDockerfileBuildsIt builds tollgate as the Dockerfile does
// (no container engine runs on the machine these tests were written on, so
// the image itself is not built here) and checks what the distroless image
// relies on: the binary is static (no dynamic loader, no libc), it says
// which revision it is, and it serves from an empty directory with the
// embedded defaults alone (test mode, the embedded SQLite store created
// there). A cgo build (CGO_ENABLED=1 on a glibc host) is dynamic and fails
// the static check.
func TestBinaryAsTheDockerfileBuildsIt(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	df, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(df), "RUN "+dockerBuild) {
		t.Fatalf("the Dockerfile no longer builds with %q; keep this test's build in step", dockerBuild)
	}
	for _, want := range []string{"FROM gcr.io/distroless/static", "USER 65532", `ENTRYPOINT ["/tollgate"]`} {
		if !strings.Contains(string(df), want) {
			t.Errorf("the Dockerfile lacks %q", want)
		}
	}

	bin := filepath.Join(t.TempDir(), "tollgate")
	build := exec.Command("go", "build", "-buildvcs=auto", "-trimpath", "-ldflags=-s -w", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	assertStatic(t, bin)

	// tollgate version names the module and the toolchain.
	out, err := exec.Command(bin, "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "tollgate ") || !strings.Contains(string(out), " go1.") {
		t.Errorf("tollgate version: %v %q", err, out)
	}

	// serve in an empty directory with nothing but a listen address.
	dir := t.TempDir()
	addr := freeLoopbackAddr(t)
	var logs bytes.Buffer
	serve := exec.Command(bin, "serve")
	serve.Dir = dir
	serve.Env = []string{"TOLLGATE_LISTEN=" + addr, "HOME=" + dir}
	serve.Stdout, serve.Stderr = &logs, &logs
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- serve.Wait() }()
	t.Cleanup(func() {
		_ = serve.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = serve.Process.Kill()
		}
	})
	client := &http.Client{Timeout: 2 * time.Second}
	eventually(t, 60*time.Second, func() (bool, string) {
		select {
		case err := <-exited:
			t.Fatalf("serve exited: %v\n%s", err, logs.String())
		default:
		}
		res, err := client.Get("http://" + addr + "/healthz")
		if err != nil {
			return false, "GET /healthz: " + err.Error()
		}
		res.Body.Close()
		return res.StatusCode == 200, "GET /healthz: " + res.Status
	})
	if _, err := os.Stat(filepath.Join(dir, "tollgate.db")); err != nil {
		t.Errorf("serve did not keep its embedded store in its working directory: %v", err)
	}
}

// assertStatic fails unless bin is a statically linked executable built
// without cgo.
func assertStatic(t *testing.T, bin string) {
	t.Helper()
	for _, p := range staticProblems(t, bin) {
		t.Error(p)
	}
}

// staticProblems says why bin is not a static executable built without cgo.
func staticProblems(t *testing.T, bin string) []string {
	t.Helper()
	var out []string
	meta, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatalf("go version -m: %v", err)
	}
	if !strings.Contains(string(meta), "CGO_ENABLED=0") {
		out = append(out, "the binary was built with cgo:\n"+string(meta))
	}
	if _, err := exec.LookPath("file"); err == nil {
		f, err := exec.Command("file", "-L", bin).Output()
		if err != nil {
			t.Fatalf("file: %v", err)
		}
		if !strings.Contains(string(f), "statically linked") || strings.Contains(string(f), "interpreter") {
			out = append(out, "not a static executable: "+string(f))
		}
	} else if l, _ := exec.Command("ldd", bin).CombinedOutput(); !strings.Contains(string(l), "not a dynamic executable") {
		out = append(out, "ldd finds dynamic dependencies: "+string(l))
	}
	return out
}

// TestStaticCheckRefusesACgoBinary: the check above fails a binary built
// with cgo, such as this test binary when cgo is on (it always is under
// -race), so it can tell the Dockerfile's build from a dynamic one.
func TestStaticCheckRefusesACgoBinary(t *testing.T) {
	t.Parallel()
	bi, ok := debug.ReadBuildInfo()
	if !ok || !slices.Contains(bi.Settings, debug.BuildSetting{Key: "CGO_ENABLED", Value: "1"}) {
		t.Skip("this test binary was built without cgo")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if p := staticProblems(t, self); len(p) == 0 {
		t.Errorf("a binary built with cgo passed the static check")
	}
}

// freeLoopbackAddr is a loopback address with a port nothing listens on now.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}
