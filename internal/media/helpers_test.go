package media

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"
)

// Test images are built in code so that every byte a test depends on is visible here.

var (
	red         = color.NRGBA{255, 0, 0, 255}
	green       = color.NRGBA{0, 255, 0, 255}
	blue        = color.NRGBA{0, 0, 255, 255}
	yellow      = color.NRGBA{255, 255, 0, 255}
	transparent = color.NRGBA{}
)

var palette = map[string]color.NRGBA{"red": red, "green": green, "blue": blue, "yellow": yellow}

// nearest names the palette colour closest to c, so that JPEG's small colour shifts do not
// make assertions flaky.
func nearest(c color.Color) string {
	r, g, b, _ := c.RGBA()
	best, bestD := "", uint64(1<<63)
	for name, p := range palette {
		pr, pg, pb, _ := p.RGBA()
		d := sq(r, pr) + sq(g, pg) + sq(b, pb)
		if d < bestD {
			best, bestD = name, d
		}
	}
	return best
}

func sq(a, b uint32) uint64 {
	d := int64(a) - int64(b)
	return uint64(d * d)
}

func fill(img draw.Image, r image.Rectangle, c color.Color) {
	draw.Draw(img, r, image.NewUniform(c), image.Point{}, draw.Src)
}

// halves is w×h, left half l and right half r.
func halves(w, h int, l, r color.Color) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	fill(img, image.Rect(0, 0, w/2, h), l)
	fill(img, image.Rect(w/2, 0, w, h), r)
	return img
}

// quadrants is n×n with red, green on top and blue, yellow below.
func quadrants(n int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	fill(img, image.Rect(0, 0, n/2, n/2), red)
	fill(img, image.Rect(n/2, 0, n, n/2), green)
	fill(img, image.Rect(0, n/2, n/2, n), blue)
	fill(img, image.Rect(n/2, n/2, n, n), yellow)
	return img
}

func encJPEG(tb testing.TB, img image.Image) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func encPNG(tb testing.TB, img image.Image) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func encGIF(tb testing.TB, img image.Image) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := gif.Encode(&buf, img, nil); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// withSegment inserts a marker segment straight after SOI, where cameras put APP1.
func withSegment(jpg []byte, marker byte, payload []byte) []byte {
	seg := []byte{0xFF, marker, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, jpg[2:]...)
}

// exifPayload is an APP1 payload with IFD0 holding Orientation and, if gps is set, a GPS IFD
// with a latitude, as a phone would write. Big-endian, as many cameras use.
func exifPayload(orientation uint16, gps bool) []byte {
	bo := binary.BigEndian
	t := []byte("MM\x00\x2a\x00\x00\x00\x08")
	entry := func(tag, typ uint16, count, value uint32) {
		t = bo.AppendUint16(t, tag)
		t = bo.AppendUint16(t, typ)
		t = bo.AppendUint32(t, count)
		t = bo.AppendUint32(t, value)
	}
	n := uint16(1)
	if gps {
		n = 2
	}
	t = bo.AppendUint16(t, n)
	entry(tagOrientation, typeShort, 1, uint32(orientation)<<16) // SHORT sits left-justified
	if gps {
		entry(0x8825, typeLong, 1, 38) // GPSInfo IFD pointer: 8 + 2 + 2*12 + 4
	}
	t = bo.AppendUint32(t, 0)
	if gps {
		t = bo.AppendUint16(t, 2)
		entry(0x0001, 2, 2, uint32('N')<<24)   // GPSLatitudeRef "N"
		entry(0x0002, 5, 3, uint32(len(t)+16)) // GPSLatitude, three RATIONALs after this IFD
		t = bo.AppendUint32(t, 0)
		for _, v := range []uint32{52, 1, 31, 1, 1234, 100} {
			t = bo.AppendUint32(t, v)
		}
	}
	return append([]byte("Exif\x00\x00"), t...)
}

func pngChunk(typ string, data []byte) []byte {
	out := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	out = append(out, typ...)
	out = append(out, data...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(append([]byte(typ), data...)))
}

// pngHeaderOnly is a PNG whose IHDR, with a valid CRC, declares w×h truecolour pixels and
// whose pixel data is missing: all a decompression bomb needs to trigger a huge allocation.
func pngHeaderOnly(w, h uint32) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 2, 0, 0, 0) // 8-bit RGB, deflate, no filter, no interlace
	out := []byte("\x89PNG\r\n\x1a\n")
	out = append(out, pngChunk("IHDR", ihdr)...)
	out = append(out, pngChunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})...)
	return append(out, pngChunk("IEND", nil)...)
}

// jpegClaiming patches the frame header of a small JPEG to declare w×h.
func jpegClaiming(tb testing.TB, w, h uint16) []byte {
	tb.Helper()
	b := encJPEG(tb, image.NewGray(image.Rect(0, 0, 8, 8)))
	i := bytes.Index(b, []byte{0xFF, 0xC0})
	if i < 0 {
		tb.Fatal("no SOF0 in encoded JPEG")
	}
	binary.BigEndian.PutUint16(b[i+5:], h)
	binary.BigEndian.PutUint16(b[i+7:], w)
	return b
}

// gifClaiming is a GIF header whose logical screen is w×h.
func gifClaiming(w, h uint16) []byte {
	b := []byte("GIF89a")
	b = binary.LittleEndian.AppendUint16(b, w)
	b = binary.LittleEndian.AppendUint16(b, h)
	return append(b, 0, 0, 0, 0x3b)
}

// bitWriter writes the least-significant-bit-first stream that VP8L uses.
type bitWriter struct {
	buf []byte
	n   uint
}

func (w *bitWriter) write(v uint32, bits uint) {
	for i := uint(0); i < bits; i++ {
		if w.n%8 == 0 {
			w.buf = append(w.buf, 0)
		}
		if v>>i&1 == 1 {
			w.buf[len(w.buf)-1] |= 1 << (w.n % 8)
		}
		w.n++
	}
}

// solidWebP is a lossless WebP of one colour. Each channel gets a one-symbol prefix code,
// which costs zero bits per pixel, so the bitstream is just the header and the five codes;
// that keeps a WebP encoder out of the test dependencies.
func solidWebP(w, h int, c color.NRGBA) []byte {
	bw := &bitWriter{buf: []byte{0x2f}}
	bw.write(uint32(w-1), 14)
	bw.write(uint32(h-1), 14)
	bw.write(1, 1) // alpha is used
	bw.write(0, 3) // version
	bw.write(0, 1) // no transforms
	bw.write(0, 1) // no colour cache
	bw.write(0, 1) // no meta prefix codes
	for _, v := range []uint8{c.G, c.R, c.B, c.A} {
		bw.write(1, 1) // simple code
		bw.write(0, 1) // one symbol
		bw.write(1, 1) // 8-bit symbol
		bw.write(uint32(v), 8)
	}
	bw.write(1, 1) // distance code: simple, one 1-bit symbol 0
	bw.write(0, 1)
	bw.write(0, 1)
	bw.write(0, 1)
	data := bw.buf
	if len(data)%2 == 1 {
		data = append(data, 0)
	}
	out := []byte("RIFF")
	out = binary.LittleEndian.AppendUint32(out, uint32(4+8+len(data)))
	out = append(out, "WEBPVP8L"...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(bw.buf)))
	return append(out, data...)
}
