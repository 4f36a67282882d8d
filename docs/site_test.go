package docs

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"tollgate/internal/openapi"
)

func site(t *testing.T) *Site {
	t.Helper()
	s, err := Build(openapi.Document)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func get(t *testing.T, s *Site, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	b, _ := io.ReadAll(rec.Body)
	return rec.Code, string(b)
}

// problemCodes walks every non-test Go file of the module for exported
// constants named Code… with a string value: the problem codes, wherever a
// package defines them. The simulator's wire codes are the operators', not
// tollgate's, and are left out.
func problemCodes(t *testing.T) map[string]string {
	t.Helper()
	codes := map[string]string{}
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") && d.Name() != ".." || path == filepath.Join("..", "carriers", "sim")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			g, ok := decl.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if !regexp.MustCompile(`^Code[A-Z]`).MatchString(name.Name) || i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						continue
					}
					v, _ := strconv.Unquote(lit.Value)
					codes[v] = path + ": " + name.Name
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) < 40 {
		t.Fatalf("found only %d problem codes; the walk is broken", len(codes))
	}
	return codes
}

// A new problem code without an entry in errors.md fails here, and so does
// an entry for a code that no longer exists.
func TestErrorReferenceDocumentsEveryCode(t *testing.T) {
	s := site(t)
	codes := problemCodes(t)
	documented := s.Codes()
	for code, where := range codes {
		if !slices.Contains(documented, code) {
			t.Errorf("%s (%s) has no entry in docs/errors.md", code, where)
		}
	}
	src, _ := os.ReadFile("errors.md")
	entries, _ := errorEntries(src)
	status := regexp.MustCompile(`(?m)^- \*\*Status:\*\* [45]\d\d`)
	for _, e := range entries {
		if _, ok := codes[e.code]; !ok {
			t.Errorf("docs/errors.md documents %q, which no Code constant defines", e.code)
		}
		if !status.MatchString(e.body) || !strings.Contains(e.body, "- **Retry with the same Idempotency-Key:** ") || !regexp.MustCompile(`\*What\s+to\s+do:\*`).MatchString(e.body) {
			t.Errorf("%s: the entry must give the status, whether a retry with the same key is safe, and what to do:\n%s", e.code, e.body)
		}
		code, body := get(t, s, "/docs/errors/"+e.code)
		if code != http.StatusOK || !strings.Contains(body, "<code>"+e.code+"</code>") {
			t.Errorf("GET /docs/errors/%s = %d", e.code, code)
		}
	}
	if code, _ := get(t, s, "/docs/errors/no_such_code"); code != http.StatusNotFound {
		t.Errorf("an unknown code's page = %d, want 404", code)
	}
	// The OpenAPI document lists the same codes.
	var doc struct {
		Components struct {
			Schemas map[string]struct{ Enum []string }
		}
	}
	if err := json.Unmarshal(openapi.Document, &doc); err != nil {
		t.Fatal(err)
	}
	for _, c := range doc.Components.Schemas["ProblemCode"].Enum {
		if !slices.Contains(documented, c) {
			t.Errorf("ProblemCode %q in openapi.json is not in docs/errors.md", c)
		}
	}
}

// absoluteURL finds http(s) URLs in the HTML; only the gateway itself
// (loopback, as the examples' BASE) may appear.
var absoluteURL = regexp.MustCompile(`https?://[^\s"'<>)]+`)

func allowedURL(u string) bool {
	for _, p := range []string{"http://127.0.0.1", "http://localhost", "http://LISTEN", "https://…"} {
		if strings.HasPrefix(u, p) {
			return true
		}
	}
	return false
}

// Every page loads nothing from elsewhere and links out of the gateway
// nowhere: no script at all, the stylesheet and images from /docs.
func TestSiteIsSelfContained(t *testing.T) {
	s := site(t)
	if len(s.pages) < 10 {
		t.Fatalf("only %d pages", len(s.pages))
	}
	check := func(name string, html string) {
		for _, u := range absoluteURL.FindAllString(html, -1) {
			if !allowedURL(u) {
				t.Errorf("%s references %s", name, u)
			}
		}
		if strings.Contains(html, "<script") || strings.Contains(html, "@import") || strings.Contains(html, "url(") {
			t.Errorf("%s has a script or a stylesheet import", name)
		}
		for _, m := range regexp.MustCompile(`(?:src|href)="([^"]*)"`).FindAllStringSubmatch(html, -1) {
			ref := m[1]
			if strings.HasPrefix(ref, "#") || allowedURL(ref) {
				continue
			}
			if !strings.HasPrefix(ref, "/") || strings.HasPrefix(ref, "//") {
				t.Errorf("%s links %q, neither an anchor nor a path on the gateway", name, ref)
				continue
			}
			path, frag, _ := strings.Cut(ref, "#")
			if path == "/openapi.json" || path == "/my" {
				continue
			}
			code, body := get(t, s, path)
			if code != http.StatusOK {
				t.Errorf("%s links %s, which answers %d", name, ref, code)
			} else if frag != "" && !strings.Contains(body, `id="`+frag+`"`) {
				t.Errorf("%s links %s, which has no such section", name, ref)
			}
		}
	}
	for slug, b := range s.pages {
		check("/docs/"+slug, string(b))
	}
	for code, b := range s.errors {
		check("/docs/errors/"+code, string(b))
	}
	check("style.css", string(s.static["style.css"]))
}

func TestIndexLinksEveryGuide(t *testing.T) {
	s := site(t)
	code, index := get(t, s, "/docs")
	if code != http.StatusOK {
		t.Fatalf("GET /docs = %d", code)
	}
	names, _ := fs.Glob(files, "*.md")
	for _, n := range append(names, "api-reference.md") {
		slug := strings.TrimSuffix(n, ".md")
		if !strings.Contains(index, `href="/docs/`+slug+`"`) {
			t.Errorf("/docs does not link %s", slug)
		}
		if code, body := get(t, s, "/docs/"+slug); code != http.StatusOK || !strings.Contains(body, "<h1") {
			t.Errorf("GET /docs/%s = %d", slug, code)
		}
	}
	if code, _ := get(t, s, "/docs/nothing-here"); code != http.StatusNotFound {
		t.Errorf("an unknown page = %d", code)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/docs", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /docs = %d", rec.Code)
	}
}

// The reference is generated: every operation of the document, every
// parameter and schema, is on the page.
func TestAPIReferenceShowsTheDocument(t *testing.T) {
	s := site(t)
	_, page := get(t, s, "/docs/api-reference")
	var doc struct {
		Paths      map[string]map[string]json.RawMessage
		Components struct{ Schemas map[string]any }
	}
	if err := json.Unmarshal(openapi.Document, &doc); err != nil {
		t.Fatal(err)
	}
	n := 0
	for path, item := range doc.Paths {
		for m, raw := range item {
			var op struct {
				OperationID string `json:"operationId"`
				Parameters  []struct{ Name string }
			}
			if json.Unmarshal(raw, &op) != nil || op.OperationID == "" {
				continue
			}
			n++
			if !strings.Contains(page, `id="`+op.OperationID+`"`) || !strings.Contains(page, "<code>"+path+"</code>") {
				t.Errorf("%s %s (%s) is missing", m, path, op.OperationID)
			}
			for _, p := range op.Parameters {
				if p.Name != "" && !strings.Contains(page, "<code>"+p.Name+"</code>") {
					t.Errorf("%s: parameter %s is missing", op.OperationID, p.Name)
				}
			}
		}
	}
	for name := range doc.Components.Schemas {
		if !strings.Contains(page, `id="schema-`+name+`"`) {
			t.Errorf("schema %s is missing", name)
		}
	}
	if n < 40 {
		t.Errorf("only %d operations", n)
	}
	// A request example built from the schema's examples.
	if !strings.Contains(page, "&#34;currency&#34;: &#34;KRW&#34;") {
		t.Error("createCharge shows no example body")
	}
}
