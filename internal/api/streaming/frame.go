package streaming

import (
	"strings"
	"unicode/utf8"

	"github.com/atrium-social/atrium/internal/realtime"
)

// appendWebsocketMessage appends Mastodon's websocket message for e:
//
//	{"stream":["user"],"event":"update","payload":"{\"id\":\"1\",...}"}
//
// The payload is the event's JSON as a JSON string, as Mastodon sends it (clients parse it a
// second time). Appending into a reused buffer keeps a busy connection allocation-free.
func appendWebsocketMessage(dst []byte, e realtime.Event) []byte {
	dst = append(dst, `{"stream":`...)
	dst = appendStreamLabel(dst, e.Stream)
	dst = append(dst, `,"event":`...)
	dst = appendJSONString(dst, e.Kind)
	if len(e.Payload) > 0 {
		dst = append(dst, `,"payload":`...)
		dst = appendJSONString(dst, e.Payload)
	}
	return append(dst, '}')
}

// appendSSE appends the server-sent-events form: "event: update\ndata: {...}\n\n". A payload
// with line breaks becomes several data lines, which the client joins back with "\n";
// otherwise a stray newline would end the event early.
func appendSSE(dst []byte, e realtime.Event) []byte {
	dst = append(dst, "event: "...)
	dst = append(dst, e.Kind...)
	dst = append(dst, "\ndata: "...)
	p := e.Payload
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\r':
			if i+1 < len(p) && p[i+1] == '\n' {
				i++
			}
			dst = append(dst, "\ndata: "...)
		case '\n':
			dst = append(dst, "\ndata: "...)
		default:
			dst = append(dst, p[i])
		}
	}
	return append(dst, "\n\n"...)
}

// appendStreamLabel appends Mastodon's "stream" array for a hub stream name: ["user"],
// ["hashtag","go"], ["hashtag:local","go"], ["list","42"].
func appendStreamLabel(dst []byte, stream string) []byte {
	dst = append(dst, '[')
	for _, p := range [...]string{"hashtag:local:", "hashtag:", "list:"} {
		if rest, ok := strings.CutPrefix(stream, p); ok {
			dst = appendJSONString(dst, p[:len(p)-1])
			dst = append(dst, ',')
			stream = rest
			break
		}
	}
	dst = appendJSONString(dst, stream)
	return append(dst, ']')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string, escaping as encoding/json does (without its
// HTML escaping, which Mastodon does not do either): quotes, backslashes, control
// characters, U+2028/U+2029 (they break JavaScript parsers) and invalid UTF-8 (replaced, so
// the websocket text frame stays valid UTF-8).
func appendJSONString[T string | []byte](dst []byte, s T) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := decodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// decodeRune decodes the rune at the start of s, for either string kind, without converting
// (and so allocating) the whole string.
func decodeRune[T string | []byte](s T) (rune, int) {
	var buf [utf8.UTFMax]byte
	return utf8.DecodeRune(buf[:copy(buf[:], s)])
}
