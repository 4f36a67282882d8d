package oneapi_test

import (
	"testing"

	"tollgate/carriers/carriertest"
)

func TestConformance(t *testing.T) { carriertest.Run(t, "oneapi") }
