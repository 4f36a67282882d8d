package main

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"tollgate/docs"
	"tollgate/internal/openapi"
	"tollgate/internal/problem"
)

// serveDocs answers /docs from the site rendered once from the embedded
// guides and the OpenAPI document (docs.Build); a site that cannot render
// is a build defect that docs' own tests catch, answered here as a 500.
func serveDocs(c echo.Context) error {
	site, err := docs.Build(openapi.Document)
	if err != nil {
		return err
	}
	if c.Request().Method != http.MethodGet && c.Request().Method != http.MethodHead {
		return problem.New(http.StatusMethodNotAllowed, problem.CodeMethodNotAllowed, "The docs are read with GET.")
	}
	site.ServeHTTP(c.Response(), c.Request())
	return nil
}
