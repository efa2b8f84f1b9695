// Package errs is Atrium's one error type. A service returns an *Error with a Kind and a
// message that is safe to show a person; transport layers (web pages, the JSON APIs,
// federation) map the Kind to a status in exactly one place, so the same failure reads the
// same everywhere and internal details stay in the log.
package errs

import (
	"errors"
	"fmt"
)

// Kind classifies an error by what the caller should do about it.
type Kind int

// The kinds, each mapping to one HTTP status.
const (
	Internal     Kind = iota // a bug or an outage: 500, details only in the log
	Invalid                  // the input is wrong: 422
	NotFound                 // absent, or not visible to this viewer: 404
	Forbidden                // visible but not allowed: 403
	Unauthorized             // not signed in, or bad credentials: 401
	Conflict                 // clashes with stored state (duplicate name): 409
	TooMany                  // rate limited: 429
	TooLarge                 // body or file over a limit: 413
	Unavailable              // temporarily unable (shutting down, overloaded): 503
)

// String names the kind for logs.
func (k Kind) String() string {
	switch k {
	case Invalid:
		return "invalid"
	case NotFound:
		return "not_found"
	case Forbidden:
		return "forbidden"
	case Unauthorized:
		return "unauthorized"
	case Conflict:
		return "conflict"
	case TooMany:
		return "too_many"
	case TooLarge:
		return "too_large"
	case Unavailable:
		return "unavailable"
	}
	return "internal"
}

// Status is the HTTP status for the kind.
func (k Kind) Status() int {
	switch k {
	case Invalid:
		return 422
	case NotFound:
		return 404
	case Forbidden:
		return 403
	case Unauthorized:
		return 401
	case Conflict:
		return 409
	case TooMany:
		return 429
	case TooLarge:
		return 413
	case Unavailable:
		return 503
	}
	return 500
}

// Error is a classified error. Msg is shown to people; Field names the input at fault, if any;
// Err is the cause, for logs only.
type Error struct {
	Kind  Kind
	Msg   string
	Field string
	Err   error
}

func (e *Error) Error() string {
	s := e.Kind.String() + ": " + e.Msg
	if e.Field != "" {
		s = e.Kind.String() + ": " + e.Field + ": " + e.Msg
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap exposes the cause to errors.Is and errors.As.
func (e *Error) Unwrap() error { return e.Err }

// E builds an error of kind k with a message for people.
func E(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

// Field builds an Invalid error about one named input.
func Field(field, format string, args ...any) *Error {
	return &Error{Kind: Invalid, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Wrap attaches a cause to a classified error.
func Wrap(k Kind, cause error, format string, args ...any) *Error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...), Err: cause}
}

// KindOf reports the kind of the first *Error in err's chain; plain errors are Internal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// Is reports whether err carries kind k.
func Is(err error, k Kind) bool { return err != nil && KindOf(err) == k }

// Message is what a person may be told about err: the classified message, or a generic line
// for internal errors so that nothing internal leaks.
func Message(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Kind != Internal {
		if e.Field != "" {
			return e.Field + ": " + e.Msg
		}
		return e.Msg
	}
	return "Something went wrong on our side. It has been logged; please try again."
}

// FieldOf returns the input field named by err, if any.
func FieldOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}
