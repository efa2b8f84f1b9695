package fetch

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error the package returns wraps one of them together with the URL or
// account involved ("fetch: GET https://h/users/a: ..."), so callers test with errors.Is and
// map to a user message, and logs still say what failed.
var (
	// ErrNotFound: the server answered 404. The object may appear later, so it is not a deletion.
	ErrNotFound = errors.New("not found (404)")
	// ErrGone: the server answered 410, or served a Tombstone for an actor. Treat as a deletion.
	ErrGone = errors.New("gone (410)")
	// ErrNotAllowed: the partner policy (Deps.Allowed) refuses the host. Nothing was sent to it.
	// errors.As with *NotAllowedError gives the host, for "globex.example is not a partner".
	ErrNotAllowed = errors.New("host not allowed by the partner policy")
	// ErrBadURL: the URL or acct is not something we fetch (not http(s), no host, userinfo).
	ErrBadURL = errors.New("not a fetchable URL")
	// ErrBadDocument: the response is not a usable document: wrong Content-Type (see also
	// ErrContentType), over 1 MiB, not decodable, no id, or an actor failing the field checks.
	ErrBadDocument = errors.New("bad document")
	// ErrContentType: the response's Content-Type is not ActivityStreams JSON (what GoToSocial
	// answers with 406 on its inbox). Always returned together with ErrBadDocument.
	ErrContentType = errors.New("not an ActivityStreams content type")
	// ErrOrigin: a document breaks the origin rules (FEDERATION.md §2): its id is not the URL
	// asked for, it came from another origin after redirects, a key and its owner disagree or
	// live on different origins, or a WebFinger round trip does not lead back to the actor.
	ErrOrigin = errors.New("origin check failed")
	// ErrStatus: any other non-200 answer. errors.As with *StatusError gives the code.
	ErrStatus = errors.New("unexpected status")
)

// NotAllowedError names the host the partner policy refused. errors.Is(err, ErrNotAllowed)
// holds for it.
type NotAllowedError struct{ Host string }

func (e *NotAllowedError) Error() string {
	return fmt.Sprintf("%s is not a partner of this node: %v", e.Host, ErrNotAllowed)
}

// Is makes errors.Is(err, ErrNotAllowed) true.
func (e *NotAllowedError) Is(target error) bool { return target == ErrNotAllowed }

// StatusError is a non-200 answer. errors.Is matches ErrNotFound for 404, ErrGone for 410 and
// ErrStatus for every code, so callers can either branch on the class or read Code (401 and 403
// usually mean the peer refuses our signature or blocks this node; 429 and 503 mean later).
type StatusError struct {
	Code       int
	RetryAfter string // the Retry-After header, verbatim, when sent
}

func (e *StatusError) Error() string {
	switch e.Code {
	case 404:
		return ErrNotFound.Error()
	case 410:
		return ErrGone.Error()
	}
	return fmt.Sprintf("%v %d", ErrStatus, e.Code)
}

// Is maps the code onto the sentinels.
func (e *StatusError) Is(target error) bool {
	switch target {
	case ErrStatus:
		return true
	case ErrNotFound:
		return e.Code == 404
	case ErrGone:
		return e.Code == 410
	}
	return false
}
