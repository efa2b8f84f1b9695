// Package outbound is the node's one HTTP client for everything it fetches from the
// outside world: link previews, remote actors and keys, media, inbox deliveries.
//
// Every one of those URLs is chosen by someone else (a remote server, a post's author),
// so a naive client is a server-side request forgery gadget: a link to
// http://169.254.169.254/ or http://10.0.0.5:6379/ would make the node probe its own
// network on the attacker's behalf. The defence lives at the lowest layer that sees the
// real destination: the dialer. Every connection, including the ones made while
// following redirects and the ones made after a DNS answer changed between "check" and
// "use" (rebinding), is checked against the address it is about to connect to, in
// net.Dialer.Control, after resolution. A URL-level check alone cannot do that, because
// the name-to-address mapping is controlled by the attacker.
//
// Around that core the client enforces the rest of FEDERATION.md §8: only http(s) (http
// only when explicitly allowed), no userinfo in URLs, a small redirect budget, connect,
// handshake, header and overall timeouts, and capped body reads that refuse
// Content-Encoding so a compressed bomb is never inflated.
//
// There is no package-level state: each node builds its own Client from Options, so
// tests can run several nodes with different allowlists in one process.
package outbound
