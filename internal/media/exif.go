package media

import (
	"bytes"
	"encoding/binary"
	"image"
)

// Phones store photos as the sensor saw them and record in EXIF how to turn them upright.
// Re-encoding drops EXIF, so the turn must be baked into the pixels or portrait photos end up
// sideways. Only IFD0's Orientation tag is needed, which is why this is a few dozen lines of
// bounds-checked parsing rather than a dependency. Anything malformed means "upright":
// a wrongly turned avatar can be re-uploaded, a rejected one for bad metadata would baffle.

const (
	tagOrientation = 0x0112
	typeShort      = 3
	typeLong       = 4
)

// jpegOrientation returns the EXIF orientation (1 to 8) of a JPEG, or 1 when it has none or
// it cannot be read.
func jpegOrientation(data []byte) int {
	if len(data) < 2 || data[0] != 0xFF || data[1] != 0xD8 {
		return 1
	}
	i := 2
	for i+4 <= len(data) {
		if data[i] != 0xFF {
			return 1
		}
		marker := data[i+1]
		switch {
		case marker == 0xFF: // fill byte before a marker
			i++
			continue
		case marker == 0x01 || marker >= 0xD0 && marker <= 0xD8: // markers without a length
			i += 2
			continue
		case marker == 0xDA || marker == 0xD9: // image data or end: EXIF must come before
			return 1
		}
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		if n < 2 || i+2+n > len(data) {
			return 1
		}
		seg := data[i+4 : i+2+n]
		if marker == 0xE1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
			return tiffOrientation(seg[6:])
		}
		i += 2 + n
	}
	return 1
}

// tiffOrientation reads the Orientation tag from IFD0 of a TIFF structure.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	if bo.Uint16(t[2:]) != 42 {
		return 1
	}
	// Offsets are 32-bit; compare in 64 bits so a hostile value cannot wrap on 32-bit hosts.
	off := uint64(bo.Uint32(t[4:]))
	if off < 8 || off+2 > uint64(len(t)) {
		return 1
	}
	count := int(bo.Uint16(t[off:]))
	entries := t[off+2:]
	for k := 0; k < count && (k+1)*12 <= len(entries); k++ {
		e := entries[k*12 : (k+1)*12]
		if bo.Uint16(e) != tagOrientation {
			continue
		}
		if bo.Uint32(e[4:]) != 1 {
			return 1
		}
		var v uint32
		switch bo.Uint16(e[2:]) {
		case typeShort:
			v = uint32(bo.Uint16(e[8:]))
		case typeLong: // not what the spec says, but some writers do it
			v = bo.Uint32(e[8:])
		default:
			return 1
		}
		if v >= 1 && v <= 8 {
			return int(v)
		}
		return 1
	}
	return 1
}

// orient returns src turned upright for EXIF orientation o. Orientations 5 to 8 swap width
// and height. src is returned unchanged for 1 and for values outside 1 to 8.
func orient(src *image.RGBA, o int) *image.RGBA {
	if o < 2 || o > 8 {
		return src
	}
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	dw, dh := sw, sh
	if o >= 5 {
		dw, dh = sh, sw
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for y := 0; y < dh; y++ {
		for x := 0; x < dw; x++ {
			// (sx, sy) is the stored pixel that shows at (x, y) once upright.
			var sx, sy int
			switch o {
			case 2: // mirrored left to right
				sx, sy = dw-1-x, y
			case 3: // upside down
				sx, sy = dw-1-x, dh-1-y
			case 4: // mirrored top to bottom
				sx, sy = x, dh-1-y
			case 5: // mirrored along the top-left diagonal
				sx, sy = y, x
			case 6: // needs a quarter turn clockwise
				sx, sy = y, dw-1-x
			case 7: // mirrored along the top-right diagonal
				sx, sy = dh-1-y, dw-1-x
			case 8: // needs a quarter turn anticlockwise
				sx, sy = dh-1-y, x
			}
			si := src.PixOffset(src.Rect.Min.X+sx, src.Rect.Min.Y+sy)
			di := dst.PixOffset(x, y)
			copy(dst.Pix[di:di+4], src.Pix[si:si+4])
		}
	}
	return dst
}
