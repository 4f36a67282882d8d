package billing

import (
	"fmt"
	"strconv"

	"tollgate/internal/problem"
)

func unknownQuery(k string) error {
	p := problem.Invalid(k, fmt.Sprintf("Unknown query parameter %q.", k))
	p.Code = problem.CodeUnknownParameter
	return p
}

func itoa(n int) string { return strconv.Itoa(n) }
