package configs

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzLoad reads arbitrary YAML as a configuration file: Load refuses it
// with an error that names the file, or builds a configuration; Validate
// then accepts it or names a key; and a configuration that loads writes back
// to YAML that loads to the same configuration (no setting is read one way
// and written another).
func FuzzLoad(f *testing.F) {
	f.Add(defaultYAML)
	f.Add([]byte("mode: live\nlisten: 127.0.0.1:9090\n"))
	f.Add([]byte("carriers: []\n"))
	f.Add([]byte("carriers:\n  - name: skt\n    protocol: camara\n    base_url: http://127.0.0.1:1\n"))
	f.Add([]byte("rate_limits:\n  sms_per_number: 5/10m\n"))
	f.Add([]byte("unknown_key: 1\n"))
	f.Add([]byte("---\n- a\n"))
	f.Add([]byte(""))
	dir := f.TempDir()
	empty := func(string) string { return "" }
	f.Fuzz(func(t *testing.T, file []byte) {
		path := filepath.Join(dir, "fuzz.yaml")
		if err := os.WriteFile(path, file, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := Load(path, empty)
		if err != nil {
			if !strings.Contains(err.Error(), "config file") && !strings.Contains(err.Error(), "sim") {
				t.Fatalf("%q: error %q does not say it is the file's", file, err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			if err.Error() == "" {
				t.Fatalf("%q: Validate failed without saying why", file)
			}
			return
		}
		out, err := yaml.Marshal(c)
		if err != nil {
			t.Fatalf("%q: a valid configuration does not write back: %v", file, err)
		}
		if err := os.WriteFile(path, out, 0o600); err != nil {
			t.Fatal(err)
		}
		again, err := Load(path, empty)
		if err != nil {
			t.Fatalf("%q: written back as\n%s\nit no longer loads: %v", file, out, err)
		}
		// Compared as written: an empty map and none are the same setting.
		if out2, err := yaml.Marshal(again); err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("%q: written back as\n%s\nit loads as\n%s", file, out, out2)
		}
	})
}
