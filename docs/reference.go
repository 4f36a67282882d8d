package docs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"sort"
	"strings"
)

// The API reference is generated from the OpenAPI document the gateway
// serves, by templates, so it cannot drift from the contract.

// oaDoc is the part of an OpenAPI 3.1 document the reference shows.
type oaDoc struct {
	Info struct {
		Title, Version, Description string
	}
	Tags       []struct{ Name, Description string }
	Paths      map[string]map[string]json.RawMessage
	Components struct {
		Schemas    map[string]*oaSchema
		Parameters map[string]*oaParam
		Responses  map[string]*oaResponse
	}
}

type oaOperation struct {
	OperationID string `json:"operationId"`
	Summary     string
	Description string
	Tags        []string
	Parameters  []*oaParam
	RequestBody *struct {
		Required bool
		Content  map[string]oaMedia
	} `json:"requestBody"`
	Responses map[string]*oaResponse
}

type oaParam struct {
	Ref         string `json:"$ref"`
	Name, In    string
	Required    bool
	Description string
	Schema      *oaSchema
}

type oaResponse struct {
	Ref         string `json:"$ref"`
	Description string
	Content     map[string]oaMedia
}

type oaMedia struct {
	Schema  *oaSchema
	Example any
}

type oaSchema struct {
	Ref         string `json:"$ref"`
	Type        any
	Format      string
	Title       string
	Description string
	Enum        []any
	Const       any
	Default     any
	Examples    []any
	Required    []string
	Properties  map[string]*oaSchema
	Items       *oaSchema
	OneOf       []*oaSchema `json:"oneOf"`
	AnyOf       []*oaSchema `json:"anyOf"`
	AllOf       []*oaSchema `json:"allOf"`
	Minimum     *float64
	Maximum     *float64
	MinLength   *int `json:"minLength"`
	MaxLength   *int `json:"maxLength"`
	Pattern     string
}

// Views the template reads.
type refTag struct {
	Name, Description string
	Ops               []refOp
}

type refOp struct {
	ID, Method, Path, Summary, Description string
	Params                                 []refParam
	Body                                   string // schema name or type
	BodyRequired                           bool
	Example                                string
	Responses                              []refResponse
}

type refParam struct {
	Name, In, Type, Description string
	Required                    bool
}

type refResponse struct{ Status, Description, Schema string }

type refSchema struct {
	Name, Description string
	Props             []refProp
	Enum              string
}

type refProp struct {
	Name, Type, Description string
	Required                bool
}

var methods = []string{"get", "post", "put", "patch", "delete"}

func apiReference(raw []byte) (page, error) {
	var d oaDoc
	if err := json.Unmarshal(raw, &d); err != nil {
		return page{}, fmt.Errorf("docs: the OpenAPI document: %w", err)
	}
	byTag := map[string]*refTag{}
	var tags []*refTag
	for _, t := range d.Tags {
		rt := &refTag{Name: t.Name, Description: t.Description}
		byTag[t.Name] = rt
		tags = append(tags, rt)
	}
	paths := make([]string, 0, len(d.Paths))
	for p := range d.Paths {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		item := d.Paths[p]
		var shared []*oaParam
		if rawParams, ok := item["parameters"]; ok {
			if err := json.Unmarshal(rawParams, &shared); err != nil {
				return page{}, fmt.Errorf("docs: %s parameters: %w", p, err)
			}
		}
		for _, m := range methods {
			rawOp, ok := item[m]
			if !ok {
				continue
			}
			var op oaOperation
			if err := json.Unmarshal(rawOp, &op); err != nil {
				return page{}, fmt.Errorf("docs: %s %s: %w", m, p, err)
			}
			ro := refOp{ID: op.OperationID, Method: strings.ToUpper(m), Path: p, Summary: op.Summary, Description: op.Description}
			for _, prm := range append(append([]*oaParam{}, shared...), op.Parameters...) {
				prm = d.param(prm)
				if prm == nil {
					continue
				}
				ro.Params = append(ro.Params, refParam{Name: prm.Name, In: prm.In, Type: d.typeName(prm.Schema), Description: prm.Description, Required: prm.Required})
			}
			if op.RequestBody != nil {
				ro.BodyRequired = op.RequestBody.Required
				if media, ok := op.RequestBody.Content["application/json"]; ok {
					ro.Body = d.typeName(media.Schema)
					ex := media.Example
					if ex == nil {
						ex = d.example(media.Schema, 0)
					}
					if ex != nil {
						b, _ := json.MarshalIndent(ex, "", "  ")
						ro.Example = string(b)
					}
				}
			}
			codes := make([]string, 0, len(op.Responses))
			for c := range op.Responses {
				codes = append(codes, c)
			}
			sort.Strings(codes)
			for _, c := range codes {
				r := op.Responses[c]
				if r.Ref != "" {
					if shared := d.Components.Responses[refName(r.Ref)]; shared != nil {
						r = shared
					}
				}
				rr := refResponse{Status: c, Description: r.Description}
				for _, media := range r.Content {
					rr.Schema = d.typeName(media.Schema)
				}
				ro.Responses = append(ro.Responses, rr)
			}
			tag := "Other"
			if len(op.Tags) > 0 {
				tag = op.Tags[0]
			}
			rt := byTag[tag]
			if rt == nil {
				rt = &refTag{Name: tag}
				byTag[tag] = rt
				tags = append(tags, rt)
			}
			rt.Ops = append(rt.Ops, ro)
		}
	}

	names := make([]string, 0, len(d.Components.Schemas))
	for n := range d.Components.Schemas {
		names = append(names, n)
	}
	sort.Strings(names)
	var schemas []refSchema
	for _, n := range names {
		s := d.Components.Schemas[n]
		rs := refSchema{Name: n, Description: s.Description}
		if len(s.Enum) > 0 {
			var vals []string
			for _, v := range s.Enum {
				vals = append(vals, fmt.Sprintf("`%v`", v))
			}
			rs.Enum = strings.Join(vals, ", ")
		}
		req := map[string]bool{}
		for _, r := range s.Required {
			req[r] = true
		}
		props := make([]string, 0, len(s.Properties))
		for p := range s.Properties {
			props = append(props, p)
		}
		sort.Strings(props)
		for _, p := range props {
			ps := s.Properties[p]
			rs.Props = append(rs.Props, refProp{Name: p, Type: d.typeName(ps), Description: ps.Description, Required: req[p]})
		}
		schemas = append(schemas, rs)
	}

	var kept []*refTag
	for _, t := range tags {
		if len(t.Ops) > 0 {
			kept = append(kept, t)
		}
	}
	var b bytes.Buffer
	err := refTemplate.ExecuteTemplate(&b, "reference.html", map[string]any{"Title": d.Info.Title, "Version": d.Info.Version, "Description": d.Info.Description, "Tags": kept, "Schemas": schemas})
	if err != nil {
		return page{}, fmt.Errorf("docs: API reference: %w", err)
	}
	return page{Slug: "api-reference", Title: "API reference", Body: template.HTML(b.String())}, nil
}

func refName(ref string) string { return ref[strings.LastIndex(ref, "/")+1:] }

func (d *oaDoc) param(p *oaParam) *oaParam {
	if p != nil && p.Ref != "" {
		return d.Components.Parameters[refName(p.Ref)]
	}
	return p
}

// typeName is a short type for a table cell: a schema's name (linked by
// the template), or its type with format.
func (d *oaDoc) typeName(s *oaSchema) string {
	if s == nil {
		return ""
	}
	if s.Ref != "" {
		return "#" + refName(s.Ref)
	}
	for _, alts := range [][]*oaSchema{s.OneOf, s.AnyOf, s.AllOf} {
		if len(alts) > 0 {
			var names []string
			for _, a := range alts {
				names = append(names, d.typeName(a))
			}
			return strings.Join(names, " | ")
		}
	}
	t := ""
	switch v := s.Type.(type) {
	case string:
		t = v
	case []any:
		var parts []string
		for _, p := range v {
			parts = append(parts, fmt.Sprint(p))
		}
		t = strings.Join(parts, " | ")
	}
	if t == "array" && s.Items != nil {
		return d.typeName(s.Items) + "[]"
	}
	if s.Const != nil {
		return fmt.Sprintf("%q", fmt.Sprint(s.Const))
	}
	if s.Format != "" {
		t += " (" + s.Format + ")"
	}
	if t == "" {
		t = "any"
	}
	return t
}

// example builds a request body from its schema's examples, so the
// reference shows a body the API accepts without anyone copying one in.
func (d *oaDoc) example(s *oaSchema, depth int) any {
	if s == nil || depth > 4 {
		return nil
	}
	if s.Ref != "" {
		return d.example(d.Components.Schemas[refName(s.Ref)], depth+1)
	}
	switch {
	case len(s.Examples) > 0:
		return s.Examples[0]
	case s.Const != nil:
		return s.Const
	case len(s.Enum) > 0:
		return s.Enum[0]
	}
	if len(s.Properties) > 0 {
		out := map[string]any{}
		for _, name := range s.Required {
			if v := d.example(s.Properties[name], depth+1); v != nil {
				out[name] = v
			}
		}
		for name, p := range s.Properties {
			if _, ok := out[name]; !ok && len(p.Examples) > 0 {
				out[name] = p.Examples[0]
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	return nil
}

func markdownHTML(s string) template.HTML {
	var b bytes.Buffer
	if err := md.Convert([]byte(s), &b); err != nil {
		return template.HTML(template.HTMLEscapeString(s))
	}
	return template.HTML(b.String())
}

var refTemplate = template.Must(template.New("ref").Funcs(template.FuncMap{
	"md": markdownHTML,
	"typ": func(t string) template.HTML {
		var parts []string
		for _, p := range strings.Split(t, " | ") {
			name, isRef := strings.CutPrefix(p, "#")
			arr := strings.HasSuffix(name, "[]")
			if arr && strings.HasPrefix(name, "#") {
				name, isRef = strings.TrimPrefix(name, "#"), true
			}
			if isRef {
				base := strings.TrimSuffix(name, "[]")
				parts = append(parts, `<a href="#schema-`+template.HTMLEscapeString(base)+`"><code>`+template.HTMLEscapeString(name)+`</code></a>`)
			} else {
				parts = append(parts, `<code>`+template.HTMLEscapeString(p)+`</code>`)
			}
		}
		return template.HTML(strings.Join(parts, " | "))
	},
}).ParseFS(files, "site/reference.html"))
