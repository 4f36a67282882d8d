package oneapi_test

import (
	"strings"
	"testing"

	"tollgate/carriers"
	"tollgate/carriers/oneapi"
)

func TestClientCorrelatorOption(t *testing.T) {
	for _, v := range []string{"", "honoured", "ignored"} {
		if _, err := oneapi.New(carriers.Settings{Name: "kt", BaseURL: "http://127.0.0.1:1", Options: map[string]string{"client_correlator": v}}); err != nil {
			t.Errorf("client_correlator %q: %v", v, err)
		}
	}
	_, err := oneapi.New(carriers.Settings{Name: "kt", BaseURL: "http://127.0.0.1:1", Options: map[string]string{"client_correlator": "sometimes"}})
	if err == nil || !strings.Contains(err.Error(), "options.client_correlator") {
		t.Fatalf("a value it does not know: %v, want an error naming the option", err)
	}
}
