package docs

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// Prefix is where the site is mounted on the gateway.
const Prefix = "/docs"

// guide is one page of the site, in the index's order.
type guide struct {
	Slug, Short, Summary string
}

// guides orders the index; a Markdown file missing here is still served
// and listed after them (a test keeps every file linked).
var guides = []guide{
	{"api", "API", "The merchant API endpoint by endpoint: charges, one-tap, refunds, subscriptions, webhooks, settlement."},
	{"api-reference", "Reference", "Every operation, parameter and schema, generated from the OpenAPI document the gateway serves."},
	{"client", "Go client", "The Go package for merchants: typed calls, idempotency keys and safe retries, webhook verification."},
	{"webhooks", "Webhooks", "Event payloads, retries, and verifying signatures in Go, Node and Python; `tollgate listen` for local work."},
	{"one-tap", "One-tap", "The subscriber's opt-in once, then charges without a code."},
	{"refunds", "Refunds", "Partial and whole refunds and each carrier's refund window."},
	{"settlement-files", "Settlement", "The carrier files tollgate reconciles and the reports and statements it writes."},
	{"errors", "Errors", "Every problem code: what it means, its status, what to do, whether a retry is safe."},
	{"operations", "Operations", "Running the gateway: commands, settings, rate limits, metrics, settlement runs."},
	{"subscribers", "Subscribers", "/my, the page where subscribers see and control what goes on their bill."},
}

// page is a rendered page before the layout.
type page struct {
	Slug, Title string
	Body        template.HTML
}

// Site is the rendered documentation, built once from embedded files.
type Site struct {
	pages  map[string][]byte // slug → full HTML page
	errors map[string][]byte // problem code → its own page
	codes  []string          // documented problem codes, in the reference's order
	static map[string][]byte // stylesheet and images by file name
	layout *template.Template
	nav    []guide
}

var (
	built    *Site
	buildErr error
	once     sync.Once
)

// Build returns the site rendered from the embedded guides and the given
// OpenAPI document; it renders once and returns the same site after.
func Build(openapiDoc []byte) (*Site, error) {
	once.Do(func() { built, buildErr = build(openapiDoc) })
	return built, buildErr
}

func build(openapiDoc []byte) (*Site, error) {
	layout, err := template.ParseFS(files, "site/layout.html")
	if err != nil {
		return nil, fmt.Errorf("docs layout: %w", err)
	}
	s := &Site{pages: map[string][]byte{}, errors: map[string][]byte{}, static: map[string][]byte{}, layout: layout}
	css, err := fs.ReadFile(files, "site/style.css")
	if err != nil {
		return nil, err
	}
	s.static["style.css"] = css

	names, err := fs.Glob(files, "*.md")
	if err != nil {
		return nil, err
	}
	sources := map[string][]byte{}
	for _, n := range names {
		b, err := fs.ReadFile(files, n)
		if err != nil {
			return nil, err
		}
		sources[strings.TrimSuffix(n, ".md")] = b
	}
	pngs, _ := fs.Glob(files, "*.png")
	for _, n := range pngs {
		b, err := fs.ReadFile(files, n)
		if err != nil {
			return nil, err
		}
		s.static[n] = b
	}

	// The navigation: the declared guides that exist, then any other file.
	known := map[string]bool{}
	for _, g := range guides {
		known[g.Slug] = true
		if _, ok := sources[g.Slug]; ok || g.Slug == "api-reference" {
			s.nav = append(s.nav, g)
		}
	}
	var extra []string
	for slug := range sources {
		if !known[slug] && slug != "index" {
			extra = append(extra, slug)
		}
	}
	sort.Strings(extra)

	rendered := map[string]page{}
	for slug, src := range sources {
		p, err := renderMarkdown(slug, src)
		if err != nil {
			return nil, err
		}
		rendered[slug] = p
	}
	for _, slug := range extra {
		s.nav = append(s.nav, guide{Slug: slug, Short: rendered[slug].Title, Summary: ""})
	}

	ref, err := apiReference(openapiDoc)
	if err != nil {
		return nil, err
	}
	rendered["api-reference"] = ref

	for slug, p := range rendered {
		if s.pages[slug], err = s.wrap(p); err != nil {
			return nil, err
		}
	}
	idx, err := s.index()
	if err != nil {
		return nil, err
	}
	if s.pages[""], err = s.wrap(idx); err != nil {
		return nil, err
	}

	entries, err := errorEntries(sources["errors"])
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		src := "# `" + e.code + "`\n\n" + e.body + "\n\n[All error codes](/docs/errors)\n"
		p, err := renderMarkdown("errors", []byte(src))
		if err != nil {
			return nil, err
		}
		if s.errors[e.code], err = s.wrap(p); err != nil {
			return nil, err
		}
		s.codes = append(s.codes, e.code)
	}
	return s, nil
}

func (s *Site) wrap(p page) ([]byte, error) {
	var b bytes.Buffer
	err := s.layout.ExecuteTemplate(&b, "layout", map[string]any{"Title": p.Title, "Slug": p.Slug, "Body": p.Body, "Nav": s.nav})
	if err != nil {
		return nil, fmt.Errorf("docs page %s: %w", p.Slug, err)
	}
	return b.Bytes(), nil
}

func (s *Site) index() (page, error) {
	var b strings.Builder
	b.WriteString("# tollgate for merchants\n\nCharge small amounts to a subscriber's phone bill through one API. Start with the\n[API](/docs/api), or the [Go client](/docs/client); every error's `type` leads to the [error reference](/docs/errors).\n\n")
	b.WriteString("<dl class=\"guides\">\n")
	for _, g := range s.nav {
		fmt.Fprintf(&b, "<dt><a href=\"/docs/%s\">%s</a></dt><dd>%s</dd>\n", g.Slug, template.HTMLEscapeString(g.Short), template.HTMLEscapeString(g.Summary))
	}
	b.WriteString("</dl>\n\nThe machine-readable contract: [/openapi.json](/openapi.json).\n")
	return render(mdRaw, "", []byte(b.String()))
}

// Codes lists the problem codes the error reference documents.
func (s *Site) Codes() []string { return append([]string(nil), s.codes...) }

// ServeHTTP answers GET and HEAD under Prefix.
func (s *Site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok || (rest != "" && !strings.HasPrefix(rest, "/")) {
		http.NotFound(w, r)
		return
	}
	rest = strings.Trim(rest, "/")
	// Nothing here is secret or personal; pages change only with a new binary.
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'none'; frame-ancestors 'none'")
	if code, ok := strings.CutPrefix(rest, "errors/"); ok {
		if b, ok := s.errors[code]; ok {
			write(w, r, "text/html; charset=utf-8", b)
			return
		}
		http.NotFound(w, r)
		return
	}
	if b, ok := s.static[rest]; ok {
		ct := "text/css; charset=utf-8"
		if path.Ext(rest) == ".png" {
			ct = "image/png"
		}
		write(w, r, ct, b)
		return
	}
	if b, ok := s.pages[strings.TrimSuffix(rest, ".md")]; ok {
		write(w, r, "text/html; charset=utf-8", b)
		return
	}
	http.NotFound(w, r)
}

func write(w http.ResponseWriter, r *http.Request, ct string, b []byte) {
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b)
	}
}

// md renders GitHub-flavoured Markdown (tables above all) with heading ids
// GitHub's way, so a link to a section works both on the site and in the
// repository.
var md = goldmark.New(
	goldmark.WithExtensions(extension.GFM),
	goldmark.WithParserOptions(parser.WithAutoHeadingID(),
		parser.WithASTTransformers(util.Prioritized(linkRewriter{}, 100))),
)

// mdRaw also passes the HTML the index writes itself.
var mdRaw = goldmark.New(
	goldmark.WithExtensions(extension.GFM),
	goldmark.WithRendererOptions(html.WithUnsafe()),
	goldmark.WithParserOptions(parser.WithAutoHeadingID(),
		parser.WithASTTransformers(util.Prioritized(linkRewriter{}, 100))),
)

func renderMarkdown(slug string, src []byte) (page, error) { return render(md, slug, src) }

func render(conv goldmark.Markdown, slug string, src []byte) (page, error) {
	var b bytes.Buffer
	if err := conv.Convert(src, &b); err != nil {
		return page{}, fmt.Errorf("docs %s: %w", slug, err)
	}
	return page{Slug: slug, Title: firstHeading(src), Body: template.HTML(b.String())}, nil
}

func firstHeading(src []byte) string {
	for _, line := range strings.Split(string(src), "\n") {
		if t, ok := strings.CutPrefix(line, "# "); ok {
			return strings.Trim(strings.TrimSpace(t), "`")
		}
	}
	return "tollgate"
}

// linkRewriter makes the repository's relative links work on the site:
// "refunds.md#x" becomes "/docs/refunds#x", an image beside the guides is
// served under /docs, the OpenAPI source is the served document, and a link
// to a file the site does not serve (../README.md) becomes plain text.
type linkRewriter struct{}

func (linkRewriter) Transform(doc *ast.Document, _ text.Reader, _ parser.Context) {
	var unlink []ast.Node
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch l := n.(type) {
		case *ast.Link:
			dest, keep := rewrite(string(l.Destination))
			if !keep {
				unlink = append(unlink, l)
			}
			l.Destination = []byte(dest)
		case *ast.Image:
			dest, _ := rewrite(string(l.Destination))
			l.Destination = []byte(dest)
		}
		return ast.WalkContinue, nil
	})
	for _, l := range unlink {
		parent := l.Parent()
		for c := l.FirstChild(); c != nil; {
			next := c.NextSibling()
			parent.InsertBefore(parent, l, c)
			c = next
		}
		parent.RemoveChild(parent, l)
	}
}

func rewrite(dest string) (string, bool) {
	switch {
	case dest == "../internal/openapi/openapi.json":
		return "/openapi.json", true
	case strings.HasPrefix(dest, "../"):
		return dest, false
	case strings.Contains(dest, "://"), strings.HasPrefix(dest, "/"), strings.HasPrefix(dest, "#"), strings.HasPrefix(dest, "mailto:"):
		return dest, true
	}
	file, frag, _ := strings.Cut(dest, "#")
	if frag != "" {
		frag = "#" + frag
	}
	if slug, ok := strings.CutSuffix(file, ".md"); ok {
		return Prefix + "/" + slug + frag, true
	}
	return Prefix + "/" + file + frag, true
}

// errorEntry is one code's section of errors.md.
type errorEntry struct{ code, body string }

// errorEntries splits errors.md at its "### `code`" headings.
func errorEntries(src []byte) ([]errorEntry, error) {
	if src == nil {
		return nil, errors.New("docs: errors.md is missing")
	}
	var out []errorEntry
	var cur *errorEntry
	for _, line := range strings.Split(string(src), "\n") {
		if h, ok := strings.CutPrefix(line, "### "); ok {
			code := strings.Trim(strings.TrimSpace(h), "`")
			out = append(out, errorEntry{code: code})
			cur = &out[len(out)-1]
			continue
		}
		if strings.HasPrefix(line, "#") {
			cur = nil
		}
		if cur != nil {
			cur.body += line + "\n"
		}
	}
	return out, nil
}
