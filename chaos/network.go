package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"
)

// network is Shopify's toxiproxy, run in this process as a library: one
// proxy per gateway node to the carrier simulator and one to PostgreSQL,
// so a fault can hit one node's link and not the others'.
type network struct {
	server *toxiproxy.ApiServer

	mu      sync.Mutex
	proxies map[string]*toxiproxy.Proxy
	toxics  map[string][]string // proxy → toxics on it now
}

func newNetwork() *network {
	// Its toxics log through zerolog's global logger, at trace level.
	zerolog.SetGlobalLevel(zerolog.WarnLevel)
	return &network{
		server:  toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop()),
		proxies: map[string]*toxiproxy.Proxy{},
		toxics:  map[string][]string{},
	}
}

// proxy starts a proxy on a free loopback port to upstream and answers its
// address.
func (n *network) proxy(name, upstream string) (string, error) {
	p := toxiproxy.NewProxy(n.server, name, "127.0.0.1:0", upstream)
	if err := p.Start(); err != nil {
		return "", fmt.Errorf("proxy %s: %w", name, err)
	}
	n.mu.Lock()
	n.proxies[name] = p
	n.mu.Unlock()
	return p.Listen, nil
}

// toxic is one toxic as toxiproxy's API takes it.
type toxic struct {
	Name       string         `json:"name"`
	Type       string         `json:"type"` // latency, timeout, reset_peer, bandwidth
	Stream     string         `json:"stream"`
	Toxicity   float64        `json:"toxicity"`
	Attributes map[string]int `json:"attributes"`
}

func (t toxic) String() string {
	var attrs []string
	for k, v := range t.Attributes {
		attrs = append(attrs, fmt.Sprintf("%s=%d", k, v))
	}
	return fmt.Sprintf("%s(%s, toxicity %.2f, %s)", t.Type, t.Stream, t.Toxicity, strings.Join(attrs, " "))
}

func (n *network) add(proxy string, t toxic) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	p := n.proxies[proxy]
	if p == nil {
		return fmt.Errorf("no proxy %s", proxy)
	}
	b, _ := json.Marshal(t)
	if _, err := p.Toxics.AddToxicJson(strings.NewReader(string(b))); err != nil {
		return fmt.Errorf("toxic %s on %s: %w", t.Name, proxy, err)
	}
	n.toxics[proxy] = append(n.toxics[proxy], t.Name)
	return nil
}

func (n *network) remove(proxy, name string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if p := n.proxies[proxy]; p != nil {
		_ = p.Toxics.RemoveToxic(context.Background(), name)
	}
	kept := n.toxics[proxy][:0]
	for _, t := range n.toxics[proxy] {
		if t != name {
			kept = append(kept, t)
		}
	}
	n.toxics[proxy] = kept
}

// setEnabled disables a proxy (its listener closes and every connection
// through it is cut: the link is down) or enables it again on the same port.
func (n *network) setEnabled(proxy string, on bool) error {
	n.mu.Lock()
	p := n.proxies[proxy]
	n.mu.Unlock()
	if p == nil {
		return fmt.Errorf("no proxy %s", proxy)
	}
	if !on {
		p.Stop()
		return nil
	}
	if err := p.Start(); err != nil && err != toxiproxy.ErrProxyAlreadyStarted {
		return fmt.Errorf("enable %s: %w", proxy, err)
	}
	return nil
}

// calm removes every toxic and enables every proxy: the network is healthy.
func (n *network) calm() error {
	n.mu.Lock()
	var names []string
	for name := range n.proxies {
		names = append(names, name)
	}
	n.mu.Unlock()
	var errs []string
	for _, name := range names {
		n.mu.Lock()
		ts := append([]string(nil), n.toxics[name]...)
		n.mu.Unlock()
		for _, t := range ts {
			n.remove(name, t)
		}
		if err := n.setEnabled(name, true); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("calm the network: %s", strings.Join(errs, "; "))
	}
	return nil
}

func (n *network) close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, p := range n.proxies {
		p.Stop()
	}
}
