package settlement

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"tollgate/internal/jsonbody"
	"tollgate/internal/problem"
)

// Mount adds the finance API to g (the /v1 group); finance admits finance keys.
func (s *Service) Mount(g *echo.Group, finance echo.MiddlewareFunc) {
	g.POST("/settlements", s.handleCreate, finance)
	g.GET("/settlements", s.handleList, finance)
	g.GET("/settlements/:id", s.handleGet, finance)
	g.GET("/settlements/:id/discrepancies", s.handleDiscrepancies, finance)
	g.GET("/settlements/:id/statements", s.handleStatements, finance)
}

// CreateParams is the body of POST /v1/settlements.
type CreateParams struct {
	Carrier      string `json:"carrier"`
	BusinessDate string `json:"business_date"`
	Rerun        bool   `json:"rerun"`
}

type list struct {
	Object  string `json:"object"`
	Data    []any  `json:"data"`
	HasMore bool   `json:"has_more"`
}

func (s *Service) handleCreate(c echo.Context) error {
	var in CreateParams
	if err := jsonbody.Decode(c.Request(), &in); err != nil {
		return err
	}
	// The run goes on if the caller hangs up: it is recorded either way,
	// and a half-done run would only have to be cleaned up.
	ctx := context.WithoutCancel(c.Request().Context())
	run, out, err := s.Run(ctx, RunRequest{Carrier: in.Carrier, BusinessDate: in.BusinessDate, Rerun: in.Rerun})
	if err != nil {
		return err
	}
	c.Response().Header().Set("Location", "/v1/settlements/"+run.ID)
	switch out {
	case Existing:
		return c.JSON(http.StatusOK, run.View())
	case InProgress:
		return c.JSON(http.StatusAccepted, run.View())
	}
	return c.JSON(http.StatusCreated, run.View())
}

func checkQuery(c echo.Context, allowed ...string) error {
	for k := range c.QueryParams() {
		ok := false
		for _, a := range allowed {
			ok = ok || a == k
		}
		if !ok {
			p := problem.Invalid(k, fmt.Sprintf("Unknown query parameter %q.", k))
			p.Code = problem.CodeUnknownParameter
			return p
		}
	}
	return nil
}

// wantCSV reads ?format=json|csv.
func wantCSV(c echo.Context) (bool, error) {
	switch c.QueryParam("format") {
	case "", "json":
		return false, nil
	case "csv":
		return true, nil
	}
	return false, problem.Invalid("format", "format must be json or csv.")
}

func (s *Service) handleList(c echo.Context) error {
	if err := checkQuery(c, "business_date", "carrier", "status", "limit", "starting_after"); err != nil {
		return err
	}
	q := c.QueryParams()
	runs, more, err := s.List(c.Request().Context(), ListParams{
		BusinessDate: q.Get("business_date"), Carrier: q.Get("carrier"), Status: q.Get("status"),
		Limit: q.Get("limit"), StartingAfter: q.Get("starting_after"),
	})
	if err != nil {
		return err
	}
	l := list{Object: "list", Data: make([]any, 0, len(runs)), HasMore: more}
	for i := range runs {
		l.Data = append(l.Data, runs[i].View())
	}
	return c.JSON(http.StatusOK, l)
}

func (s *Service) handleGet(c echo.Context) error {
	if err := checkQuery(c, "format"); err != nil {
		return err
	}
	csvOut, err := wantCSV(c)
	if err != nil {
		return err
	}
	run, err := s.Get(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	if csvOut {
		w := startCSV(c, run.ID+".csv")
		writeRunCSV(w, run)
		w.Flush()
		return w.Error()
	}
	return c.JSON(http.StatusOK, run.View())
}

func (s *Service) handleDiscrepancies(c echo.Context) error {
	if err := checkQuery(c, "format", "kind", "limit", "starting_after"); err != nil {
		return err
	}
	csvOut, err := wantCSV(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	run, err := s.Get(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	p := DiscrepancyParams{Kind: c.QueryParam("kind"), Limit: c.QueryParam("limit"), StartingAfter: c.QueryParam("starting_after"), All: csvOut}
	if csvOut {
		// Streamed row by row: a day can have very many.
		var w *csv.Writer
		_, err := s.Discrepancies(ctx, run, p, func(d Discrepancy) error {
			if w == nil {
				w = startCSV(c, run.ID+"-discrepancies.csv")
				_ = w.Write(discrepancyHeader)
			}
			_ = w.Write(discrepancyRecord(d.View()))
			return w.Error()
		})
		if err != nil {
			return err
		}
		if w == nil {
			w = startCSV(c, run.ID+"-discrepancies.csv")
			_ = w.Write(discrepancyHeader)
		}
		w.Flush()
		return w.Error()
	}
	l := list{Object: "list", Data: []any{}}
	l.HasMore, err = s.Discrepancies(ctx, run, p, func(d Discrepancy) error {
		l.Data = append(l.Data, d.View())
		return nil
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, l)
}

func (s *Service) handleStatements(c echo.Context) error {
	if err := checkQuery(c, "format"); err != nil {
		return err
	}
	csvOut, err := wantCSV(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	run, err := s.Get(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	sts, err := s.Statements(ctx, run)
	if err != nil {
		return err
	}
	if csvOut {
		w := startCSV(c, run.ID+"-statements.csv")
		_ = w.Write(statementHeader)
		for i := range sts {
			_ = w.Write(statementRecord(sts[i].View()))
		}
		w.Flush()
		return w.Error()
	}
	l := list{Object: "list", Data: make([]any, 0, len(sts))}
	for i := range sts {
		l.Data = append(l.Data, sts[i].View())
	}
	return c.JSON(http.StatusOK, l)
}

func startCSV(c echo.Context, filename string) *csv.Writer {
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+filename+`"`) // ids are [a-z0-9_]: nothing to escape
	c.Response().WriteHeader(http.StatusOK)
	return csv.NewWriter(c.Response())
}
