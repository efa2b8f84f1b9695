package media

import (
	"bytes"
	"encoding/binary"
	"image"
	"testing"
)

// littleEndianExif is the Intel-order variant that many phones write.
func littleEndianExif(tag, typ uint16, count uint32, value []byte) []byte {
	t := []byte("II\x2a\x00\x08\x00\x00\x00")
	t = binary.LittleEndian.AppendUint16(t, 1)
	t = binary.LittleEndian.AppendUint16(t, tag)
	t = binary.LittleEndian.AppendUint16(t, typ)
	t = binary.LittleEndian.AppendUint32(t, count)
	t = append(t, value...)
	return append(t, 0, 0, 0, 0)
}

func TestTIFFOrientation(t *testing.T) {
	good := exifPayload(6, true)[6:]
	tests := []struct {
		name string
		tiff []byte
		want int
	}{
		{"big endian with GPS", good, 6},
		{"little endian", littleEndianExif(tagOrientation, typeShort, 1, []byte{8, 0, 0, 0}), 8},
		{"LONG instead of SHORT", littleEndianExif(tagOrientation, typeLong, 1, []byte{3, 0, 0, 0}), 3},
		{"value 0", littleEndianExif(tagOrientation, typeShort, 1, []byte{0, 0, 0, 0}), 1},
		{"value 9", littleEndianExif(tagOrientation, typeShort, 1, []byte{9, 0, 0, 0}), 1},
		{"wrong type", littleEndianExif(tagOrientation, 2, 1, []byte{6, 0, 0, 0}), 1},
		{"count 2", littleEndianExif(tagOrientation, typeShort, 2, []byte{6, 0, 6, 0}), 1},
		{"other tag only", littleEndianExif(0x010f, typeShort, 1, []byte{6, 0, 0, 0}), 1},
		{"empty", nil, 1},
		{"bad byte order", append([]byte("XX"), good[2:]...), 1},
		{"bad magic", append([]byte("MM\x00\x2b"), good[4:]...), 1},
		{"IFD offset past end", append([]byte("MM\x00\x2a\xff\xff\xff\xf0"), good[8:]...), 1},
		{"IFD offset into header", append([]byte("MM\x00\x2a\x00\x00\x00\x02"), good[8:]...), 1},
		{"entry count past end", append([]byte("MM\x00\x2a\x00\x00\x00\x08\xff\xff"), good[10:20]...), 1},
		{"truncated entry", good[:20], 1},
	}
	for _, tt := range tests {
		if got := tiffOrientation(tt.tiff); got != tt.want {
			t.Errorf("%s: got %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestJPEGOrientation(t *testing.T) {
	jpg := encJPEG(t, image.NewGray(image.Rect(0, 0, 8, 8)))
	xmp := []byte("http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta/>")
	tests := []struct {
		name string
		data []byte
		want int
	}{
		{"exif", withSegment(jpg, 0xE1, exifPayload(5, false)), 5},
		{"exif after XMP APP1 and APP0", withSegment(withSegment(withSegment(jpg, 0xE1, exifPayload(7, false)), 0xE1, xmp), 0xE0, []byte("JFIF\x00")), 7},
		{"fill bytes before marker", append([]byte{0xFF, 0xD8, 0xFF}, withSegment(jpg, 0xE1, exifPayload(3, false))[2:]...), 3},
		{"no exif", jpg, 1},
		{"APP1 that is not Exif", withSegment(jpg, 0xE1, []byte("Exif")), 1},
		{"segment length past end", []byte{0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF, 'E', 'x'}, 1},
		{"segment length below 2", []byte{0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x01, 0xFF, 0xD9}, 1},
		{"garbage after SOI", []byte{0xFF, 0xD8, 0x00, 0x00, 0x00, 0x00}, 1},
		{"not a JPEG", []byte("\x89PNG"), 1},
		{"exif after image data is ignored", append(append([]byte{}, jpg...), withSegment([]byte{0xFF, 0xD8}, 0xE1, exifPayload(6, false))[2:]...), 1},
	}
	for _, tt := range tests {
		if got := jpegOrientation(tt.data); got != tt.want {
			t.Errorf("%s: got %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestOrientNonSquare(t *testing.T) {
	// 3×2 with distinct pixel values; the expected layouts are the EXIF spec's pictures.
	src := image.NewRGBA(image.Rect(0, 0, 3, 2))
	for i := range 6 {
		src.Pix[i*4] = uint8('a' + i) // a b c / d e f
	}
	tests := []struct {
		o    int
		w, h int
		want string
	}{
		{1, 3, 2, "abcdef"},
		{2, 3, 2, "cbafed"},
		{3, 3, 2, "fedcba"},
		{4, 3, 2, "defabc"},
		{5, 2, 3, "adbecf"},
		{6, 2, 3, "daebfc"},
		{7, 2, 3, "fcebda"},
		{8, 2, 3, "cfbead"},
	}
	for _, tt := range tests {
		dst := orient(src, tt.o)
		if dst.Rect.Dx() != tt.w || dst.Rect.Dy() != tt.h {
			t.Errorf("orientation %d: size %v, want %dx%d", tt.o, dst.Rect.Size(), tt.w, tt.h)
			continue
		}
		var got []byte
		for i := 0; i < len(dst.Pix); i += 4 {
			got = append(got, dst.Pix[i])
		}
		if string(got) != tt.want {
			t.Errorf("orientation %d: %s, want %s", tt.o, got, tt.want)
		}
	}
}

func FuzzJPEGOrientation(f *testing.F) {
	f.Add(withSegment([]byte{0xFF, 0xD8, 0xFF, 0xD9}, 0xE1, exifPayload(6, true)))
	f.Add(withSegment([]byte{0xFF, 0xD8, 0xFF, 0xD9}, 0xE1, append([]byte("Exif\x00\x00"), littleEndianExif(tagOrientation, typeShort, 1, []byte{8, 0, 0, 0})...)))
	f.Fuzz(func(t *testing.T, data []byte) {
		if o := jpegOrientation(data); o < 1 || o > 8 {
			t.Fatalf("orientation %d out of range", o)
		}
		if o := tiffOrientation(data); o < 1 || o > 8 {
			t.Fatalf("orientation %d out of range", o)
		}
		if bytes.HasPrefix(data, []byte("Exif\x00\x00")) {
			tiffOrientation(data[6:])
		}
	})
}
