// Package origin is the origin policy: which addresses the edge may connect
// to when it proxies a visitor's request, and the one dialer through which
// every origin is reached.
//
// A proxied record names its origin, and anyone who may write a record could
// otherwise make the edge a way into the machine and its network: the API on
// 127.0.0.1, a cloud's metadata service on 169.254.169.254, a private
// service on 10.0.0.0/8. So by default the policy refuses every address
// that is not public (see the ranges in policy.go: loopback, unspecified,
// link-local, private, shared (carrier-grade NAT), multicast, broadcast and
// reserved ranges, and the IPv6 forms that embed such an IPv4 address). The
// operator allows named ranges back with --private-origins; a range is
// allowed only by a CIDR that lies within it, so loopback is refused unless
// the setting names a part of 127.0.0.0/8 (or ::1/128). The node's own
// listeners are never an origin, whatever the setting allows.
//
// The policy is applied twice. When a proxied record is written, the domain
// (internal/record) checks its IP addresses with Policy.CheckAddr and a CNAME
// target with Policy.CheckName (which refuses localhost names, RFC 6761,
// before any DNS). When the edge connects, Dialer resolves the origin's name
// itself, checks every address the name resolves to and dials only those
// addresses, and its net.Dialer's Control checks once more the address each
// socket is really connected to: a DNS answer that changes between the
// check and the connection (DNS rebinding) gains nothing.
//
// This package uses the standard library only, and none of net/http or
// database/sql, so that the domain may import it.
package origin
