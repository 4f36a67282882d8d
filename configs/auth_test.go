package configs

import (
	"fmt"
	"strings"
	"testing"
)

func TestCarrierAuthIsValidatedByKey(t *testing.T) {
	skt := func(c *Config) *CarrierConfig {
		for i := range c.Carriers {
			if c.Carriers[i].Name == "skt" {
				return &c.Carriers[i]
			}
		}
		t.Fatal("no skt in the defaults")
		return nil
	}
	if a := skt(ptr(defaults(t))).Auth; a.ClientID == "" || a.TokenURL == "" || a.BCAuthorizeURL == "" {
		t.Fatalf("the shipped skt asks for no tokens: %+v", a)
	}
	tests := []struct {
		name string
		edit func(*CarrierConfig)
		want string // "" is valid
	}{
		{"shipped", func(*CarrierConfig) {}, ""},
		{"no auth", func(cc *CarrierConfig) { cc.Auth = CarrierAuthConfig{} }, ""},
		{"no secret", func(cc *CarrierConfig) { cc.Auth.ClientSecret = "" }, "carriers[0].auth.client_secret"},
		{"no id", func(cc *CarrierConfig) { cc.Auth.ClientID = "" }, "carriers[0].auth.client_id"},
		{"no token url", func(cc *CarrierConfig) { cc.Auth.TokenURL = "" }, "carriers[0].auth.token_url"},
		{"odd url", func(cc *CarrierConfig) { cc.Auth.BCAuthorizeURL = "ftp://op.example/bc" }, "carriers[0].auth.bc_authorize_url"},
		{"absolute", func(cc *CarrierConfig) { cc.Auth.TokenURL = "https://op.example/token" }, ""},
		{"purpose scope", func(cc *CarrierConfig) { cc.Auth.Scopes = []string{"dpv:FraudPreventionAndDetection"} }, ""},
		{"two scopes in one", func(cc *CarrierConfig) { cc.Auth.Scopes = []string{"a b"} }, "carriers[0].auth.scopes[0]"},
		{"sandbox and simulated", func(cc *CarrierConfig) { cc.Sandbox = true }, "carriers[0].sandbox"},
		{"sandbox", func(cc *CarrierConfig) {
			cc.Sandbox, cc.Simulated, cc.BaseURL = true, false, "https://sandbox.op.example/camara"
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := defaults(t)
			if c.Carriers[0].Name != "skt" {
				t.Fatalf("carriers[0] is %s", c.Carriers[0].Name)
			}
			tt.edit(&c.Carriers[0])
			err := c.Validate()
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)) {
				t.Fatalf("%v, want %q", err, tt.want)
			}
		})
	}
}

func TestRedactedMasksCarrierSecrets(t *testing.T) {
	c := defaults(t)
	r := c.Redacted()
	dump := fmt.Sprintf("%+v", r)
	for _, cc := range c.Carriers {
		for _, secret := range []string{cc.Auth.ClientSecret, cc.WebhookSecret} {
			if secret != "" && strings.Contains(dump, secret) {
				t.Errorf("the redacted config shows %s's secret", cc.Name)
			}
		}
	}
	if c.Carriers[0].Auth.ClientSecret == "***" {
		t.Fatal("Redacted changed the caller's config")
	}
}

func ptr[T any](v T) *T { return &v }
