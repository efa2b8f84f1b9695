package signature

import (
	"errors"
	"strings"
)

// The failure classes of Verify. Each is returned wrapped in an *Error that adds the keyId and a
// detail for the log; test with errors.Is. The HTTP layer answers every one of them with 401 (see
// doc.go), so the classes exist for logs, metrics and tests, not for the peer.
var (
	// ErrMissingSignature means the request carries no Signature header.
	ErrMissingSignature = errors.New("request is not signed")
	// ErrMalformed means the Signature header (or a header it covers) cannot be parsed or breaks a
	// bound: duplicate or oversized parameters, a keyId with commas or quotes, an unknown algorithm.
	ErrMalformed = errors.New("malformed signature")
	// ErrDigestMismatch means the Digest header is absent, unsupported or differs from the body.
	ErrDigestMismatch = errors.New("digest does not match the body")
	// ErrDateSkew means Date, (created) or (expires) lies outside the accepted window.
	ErrDateSkew = errors.New("signature date outside the accepted window")
	// ErrHeadersNotSigned means the signature does not cover what our policy requires.
	ErrHeadersNotSigned = errors.New("required headers are not signed")
	// ErrBadSignature means the cryptographic check failed, also after one key refresh.
	ErrBadSignature = errors.New("signature does not verify")
	// ErrKeyUnavailable means the key could not be resolved or is unusable (type, size, id).
	ErrKeyUnavailable = errors.New("public key unavailable")
	// ErrKeyGone is what a KeyCache fetcher returns (wrapped) when the key document answers 410
	// Gone. The cache remembers it, and Verify returns it inside ErrKeyUnavailable, so the inbox
	// can tell "actor deleted" apart (a Delete of a gone actor is answered 202 without work).
	ErrKeyGone = errors.New("key is gone (410)")
	// ErrKeyNotAllowed means Verifier.KeyAllowed refused the keyId (its host is not a
	// partner): nothing was fetched, and the inbox answers 403 rather than 401.
	ErrKeyNotAllowed = errors.New("key host not allowed")
)

// Error is a failed verification or signing: Kind is one of the sentinels above, KeyID the keyId
// of the request when it was readable, Detail what exactly failed, Err the underlying cause.
type Error struct {
	Kind   error
	KeyID  string
	Detail string
	Err    error
}

// Error renders "signature: <kind>: <detail> (keyId ...): <cause>".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("signature: ")
	b.WriteString(e.Kind.Error())
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.KeyID != "" {
		b.WriteString(" (keyId ")
		b.WriteString(e.KeyID)
		b.WriteString(")")
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap exposes both the class and the cause, so errors.Is(err, ErrKeyUnavailable) and
// errors.Is(err, ErrKeyGone) can both hold.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

func fail(kind error, keyID, detail string, cause error) *Error {
	return &Error{Kind: kind, KeyID: keyID, Detail: detail, Err: cause}
}
