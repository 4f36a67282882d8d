package docs

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"tollgate/webhooks"
)

// snippet returns the first fenced block of lang in a guide that contains marker.
func snippet(t *testing.T, file, lang, marker string) string {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?s)```" + lang + "\n(.*?)```")
	for _, m := range re.FindAllStringSubmatch(string(src), -1) {
		if strings.Contains(m[1], marker) {
			return m[1]
		}
	}
	t.Fatalf("%s has no %s block with %q", file, lang, marker)
	return ""
}

type delivery struct {
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"` // base64
	want    bool
	name    string
}

// deliveries are signed by the gateway's own signer (webhooks.Sign): what a
// merchant's server really receives, and what it must refuse.
func deliveries(t *testing.T, secret string) []delivery {
	t.Helper()
	body := []byte(`{"id":"evt_1","object":"event","type":"charge.succeeded","created_at":"2026-12-07T01:02:03Z","livemode":false,"data":{"object":{"id":"ch_1","amount":5000,"currency":"KRW","description":"500 gems ✓"}}}`)
	sign := func(s string, at time.Time, b []byte) string {
		sig, err := webhooks.Sign(s, "evt_1", at, b)
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	mk := func(name string, want bool, at time.Time, sig string, b []byte) delivery {
		return delivery{name: name, want: want, Body: base64.StdEncoding.EncodeToString(b), Headers: map[string]string{
			"webhook-id": "evt_1", "webhook-timestamp": strconv.FormatInt(at.Unix(), 10), "webhook-signature": sig}}
	}
	now := time.Now()
	other := webhooks.NewSecret()
	return []delivery{
		mk("signed now", true, now, sign(secret, now, body), body),
		mk("one of two signatures (a rotated secret)", true, now, sign(other, now, body)+" "+sign(secret, now, body), body),
		mk("tampered body", false, now, sign(secret, now, body), bytes.Replace(body, []byte("5000"), []byte("9000"), 1)),
		mk("another secret", false, now, sign(other, now, body), body),
		mk("ten minutes old", false, now.Add(-10*time.Minute), sign(secret, now.Add(-10*time.Minute), body), body),
		mk("garbage signature", false, now, "v1,!!!", body),
		{name: "no headers", want: false, Body: base64.StdEncoding.EncodeToString(body), Headers: map[string]string{}},
	}
}

// runSnippet feeds the deliveries to a program on stdin and compares the
// true/false lines it prints.
func runSnippet(t *testing.T, cmd *exec.Cmd, secret string, ds []delivery) {
	t.Helper()
	in, _ := json.Marshal(ds)
	cmd.Stdin = bytes.NewReader(in)
	cmd.Env = append(os.Environ(), "SECRET="+secret)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", cmd.Args, err, out)
	}
	lines := strings.Fields(string(out))
	if len(lines) != len(ds) {
		t.Fatalf("%d answers for %d deliveries:\n%s", len(lines), len(ds), out)
	}
	for i, d := range ds {
		if lines[i] != strconv.FormatBool(d.want) {
			t.Errorf("%s: got %s, want %v", d.name, lines[i], d.want)
		}
	}
}

func need(t *testing.T, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is needed to test the guide's snippet", tool)
		}
		t.Skipf("no %s here", tool)
	}
	return p
}

func TestWebhookGuideGoSnippetVerifies(t *testing.T) {
	t.Parallel()
	goTool := need(t, "go")
	dir := t.TempDir()
	code := "package main\n\n" + snippet(t, "webhooks.md", "go", "func verifyWebhook")
	driver := `package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
)

func main() {
	var cases []struct {
		Headers map[string]string
		Body    string
	}
	if err := json.NewDecoder(os.Stdin).Decode(&cases); err != nil {
		panic(err)
	}
	for _, c := range cases {
		h := http.Header{}
		for k, v := range c.Headers {
			h.Set(k, v)
		}
		b, _ := base64.StdEncoding.DecodeString(c.Body)
		fmt.Println(verifyWebhook(os.Getenv("SECRET"), h, b) == nil)
	}
}
`
	for name, src := range map[string]string{"verify.go": code, "main.go": driver} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	secret := webhooks.NewSecret()
	cmd := exec.Command(goTool, "run", "main.go", "verify.go")
	cmd.Dir = dir
	runSnippet(t, cmd, secret, deliveries(t, secret))
}

func TestWebhookGuideNodeSnippetVerifies(t *testing.T) {
	t.Parallel()
	node := need(t, "node")
	src := snippet(t, "webhooks.md", "js", "function verifyWebhook") + `
const cases = JSON.parse(require("fs").readFileSync(0, "utf8"));
for (const c of cases) console.log(verifyWebhook(process.env.SECRET, c.headers, Buffer.from(c.body, "base64")));
`
	f := filepath.Join(t.TempDir(), "verify.js")
	if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	secret := webhooks.NewSecret()
	runSnippet(t, exec.Command(node, f), secret, deliveries(t, secret))
}

func TestWebhookGuidePythonSnippetVerifies(t *testing.T) {
	t.Parallel()
	py := need(t, "python3")
	src := snippet(t, "webhooks.md", "python", "def verify_webhook") + `

if __name__ == "__main__":
    import json, os, sys
    for c in json.load(sys.stdin):
        ok = verify_webhook(os.environ["SECRET"], c["headers"], base64.b64decode(c["body"]))
        print("true" if ok else "false")
`
	f := filepath.Join(t.TempDir(), "verify.py")
	if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	secret := webhooks.NewSecret()
	runSnippet(t, exec.Command(py, f), secret, deliveries(t, secret))
}

// The settlement guide's CSV headers are the ones settlement writes.
func TestSettlementGuideColumnsAreTheCSVHeaders(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "settlement", "csv.go"))
	if err != nil {
		t.Fatal(err)
	}
	guide, err := os.ReadFile("settlement-files.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```csv\n(.*?)\n```").FindAllStringSubmatch(string(guide), -1)
	for i, name := range []string{"runHeader", "discrepancyHeader", "statementHeader"} {
		m := regexp.MustCompile(`(?s)var ` + name + ` = \[\]string\{(.*?)\}`).FindStringSubmatch(string(src))
		if m == nil {
			t.Fatalf("settlement/csv.go has no %s", name)
		}
		var cols []string
		for _, q := range regexp.MustCompile(`"([a-z_]+)"`).FindAllStringSubmatch(m[1], -1) {
			cols = append(cols, q[1])
		}
		if i >= len(blocks) || blocks[i][1] != strings.Join(cols, ",") {
			t.Errorf("settlement-files.md's block %d is not %s: %s", i+1, name, strings.Join(cols, ","))
		}
	}
}
