package webhooks

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"syscall"
)

// In live mode a merchant's endpoint must be a public address: tollgate
// must not become a way to reach its own network (loopback, private ranges,
// link-local such as cloud metadata at 169.254.169.254). Checked at dial
// time, after DNS, so a name that resolves inward is refused too. Test mode
// allows everything: its receivers run on the merchant's laptop.

var errInternalAddress = errors.New("webhook endpoint resolves to an internal address")

// publicOnly is a net.Dialer Control that refuses non-public addresses.
func publicOnly(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return err
	}
	if !public(ip) {
		return errInternalAddress
	}
	return nil
}

func public(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsValid() && !ip.IsLoopback() && !ip.IsPrivate() && !ip.IsLinkLocalUnicast() &&
		!ip.IsLinkLocalMulticast() && !ip.IsUnspecified() && !ip.IsMulticast() && !ip.IsInterfaceLocalMulticast() &&
		!netip.MustParsePrefix("100.64.0.0/10").Contains(ip) // carrier-grade NAT
}

// internalHost reports whether a URL host is plainly internal (an address
// literal or localhost), for a clear 400 at creation.
func internalHost(host string) bool {
	if h := strings.ToLower(host); h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && !public(ip)
}
