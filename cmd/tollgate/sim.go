package main

import (
	"context"
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
)

// cmdSim runs the carrier simulator alone, for load and fault tests and for
// several gateways sharing one (TOLLGATE_SIM_URL).
func cmdSim(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	setUsage(fs)
	listen := fs.String("listen", "127.0.0.1:9090", "address to listen on")
	config := fs.String("config", "", "YAML configuration naming the simulated carriers")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	cfg, err := configs.Load(*config, getenv)
	if err != nil {
		return err
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
	srv := newServer(s.Handler(), serverTimeouts)
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
