package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"code.dny.dev/ssrf"
)

// In live mode a merchant's endpoint must be a public address: tollgate
// must not become a way to reach its own network (loopback, private ranges,
// link-local such as cloud metadata at 169.254.169.254, NAT64 wrappers of
// those). The rule is code.dny.dev/ssrf's, kept against IANA's special-purpose
// registries, rather than a hand-kept list that missed 0.0.0.0/8, 198.18.0.0/15,
// 240.0.0.0/4 and 64:ff9b::/96. It is checked at dial time, after DNS, so a
// name that resolves inward later is refused too; creation refuses early what
// dialing would refuse, for a clear 400. Test mode allows everything: its
// receivers run on the merchant's laptop.

var errInternalAddress = errors.New("webhook endpoint resolves to an internal address")

// guardian allows any port (merchants' receivers listen where they like);
// the address is what keeps tollgate out of its own network.
var guardian = ssrf.New(ssrf.WithAnyPort())

// publicOnly is a net.Dialer Control that refuses non-public addresses.
func publicOnly(network, address string, c syscall.RawConn) error {
	if err := guardian.Safe(network, address, c); err != nil {
		return fmt.Errorf("%w: %w", errInternalAddress, err)
	}
	return nil
}

// internalNames are names that never mean a merchant's public server:
// localhost, and the reserved private-use TLDs where cloud metadata
// (metadata.google.internal) and LAN devices live.
var internalNames = []string{"localhost", "internal", "local", "localdomain", "home.arpa", "intranet", "lan"}

// checkHost refuses at creation what the dial-time check would refuse: an
// internal name, an address literal in any form a resolver accepts, or a
// name that resolves to an internal address now. A name that does not
// resolve yet is let through: the dial-time check still guards it.
func checkHost(ctx context.Context, host string, resolve func(context.Context, string) ([]netip.Addr, error)) error {
	h := strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if h == "" {
		return errInternalAddress
	}
	for _, n := range internalNames {
		if h == n || strings.HasSuffix(h, "."+n) {
			return errInternalAddress
		}
	}
	if ip, err := netip.ParseAddr(h); err == nil {
		return guardian.SafeAddr(ip)
	}
	// inet_aton forms (2130706433, 0x7f000001, 127.1, 0177.0.0.1) are not
	// names: no top-level domain is numeric. Some resolvers read them as
	// addresses, so they are refused whatever they would mean.
	labels := strings.Split(h, ".")
	if numericLabel(labels[len(labels)-1]) {
		return errInternalAddress
	}
	if resolve == nil {
		resolve = func(ctx context.Context, h string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", h)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	addrs, err := resolve(ctx, h)
	if err != nil {
		return nil
	}
	for _, a := range addrs {
		if err := guardian.SafeAddr(a); err != nil {
			return err
		}
	}
	return nil
}

func numericLabel(s string) bool {
	digits := "0123456789"
	if rest, ok := strings.CutPrefix(s, "0x"); ok {
		s, digits = rest, "0123456789abcdef"
	}
	return strings.Trim(s, digits) == ""
}
