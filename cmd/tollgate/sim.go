package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"tollgate/carriers/sim"
	"tollgate/configs"
	"tollgate/internal/problem"
)

// cmdSim runs the carrier simulator alone, for load and fault tests and for
// several gateways sharing one (TOLLGATE_SIM_URL).
//
// The carriers' APIs are open, as the gateways' adapters call them. Its own
// endpoints (/sim/sms holds every subscriber's codes; faults, ledger, stats)
// need sim.token as a bearer when one is set, which is also what a gateway
// sends when it reads messages there. Without a token they are open, which is
// only allowed on a loopback address (the default 127.0.0.1:9090): the
// operator's own tests on this machine.
func cmdSim(stdout, stderr io.Writer, getenv func(string) string) (*flag.FlagSet, execFunc) {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:9090", "address to listen on")
	config := fs.String("config", "", "YAML configuration naming the simulated carriers")
	return fs, func(ctx context.Context, _ []string) error {
		cfg, err := configs.Load(*config, getenv)
		if err != nil {
			return err
		}
		if err := cfg.Sim.Validate("test"); err != nil {
			return err
		}
		guarded := cfg.Sim.Token != "" && !cfg.Sim.OpenControls
		if !guarded && !cfg.Sim.OpenControls && !loopbackAddress(*listen) {
			return fmt.Errorf("sim.token: --listen %s is reachable from other machines and /sim/sms shows every code: set TOLLGATE_SIM_TOKEN (16+ characters; gateways send it as sim.token), or listen on 127.0.0.1", *listen)
		}
		// The same simulated carriers a gateway would mount, with their
		// callback secrets, so the gateways' checks accept what they send.
		cs, err := carrierSettings(cfg, time.Now)
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", *listen)
		if err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		s := sim.New(cs.sim)
		h := s.Handler()
		if guarded {
			h = controlToken(s, cfg.Sim.Token)
		}
		srv := newServer(h, serverTimeouts)
		fmt.Fprintf(stdout, "carrier simulator for %s at http://%s/sim (set TOLLGATE_SIM_URL=http://%s/sim on gateways)\n", strings.Join(cs.sim.Carriers, ", "), ln.Addr(), ln.Addr())
		errc := make(chan error, 1)
		go func() { errc <- srv.Serve(ln) }()
		select {
		case err := <-errc:
			return err
		case <-ctx.Done():
		}
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}

// loopbackAddress reports whether a listen address (host:port) accepts
// connections from this machine only.
func loopbackAddress(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// controlToken serves s with its own endpoints (sim.IsControl) behind a
// bearer token; the carriers' APIs stay as their protocols make them.
func controlToken(s *sim.Simulator, token string) http.Handler {
	next := s.Handler()
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.IsControl(r) && subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			p := problem.New(http.StatusUnauthorized, problem.CodeUnauthorized, "The simulator's control endpoints need its token: Authorization: Bearer <sim.token>.")
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(p.Status)
			_ = json.NewEncoder(w).Encode(p.Body())
			return
		}
		next.ServeHTTP(w, r)
	})
}
