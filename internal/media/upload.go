package media

import (
	"archive/zip"
	"bytes"
	"fmt"
	"image"
	"io"
	"math"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/image/draw"

	"github.com/atrium-social/atrium/internal/errs"
)

// Kind of an attachment.
const (
	KindImage    = "image"
	KindDocument = "document"
)

// Edge lengths of processed attachment images: the stored image is scaled down, never up, to
// fit MaxImageSide, and its thumbnail to fit ThumbSide.
const (
	MaxImageSide = 2048
	ThumbSide    = 400
)

// maxFileNameLen is the longest Processed.FileName in bytes.
const maxFileNameLen = 200

// maxArchiveEntries bounds the ZIP directory that is parsed. Real office documents have a few
// dozen parts, a large slide deck a few hundred; a directory of many thousands only makes the
// parser allocate.
const maxArchiveEntries = 2000

// acceptedHint ends every ErrUnsupported message from ProcessUpload, so people learn what
// would work rather than only that this did not.
const acceptedHint = "Accepted are photos (JPEG, PNG, GIF, WebP) and documents: PDF, Word, Excel and " +
	"PowerPoint (.docx, .xlsx, .pptx, .doc, .xls, .ppt), OpenDocument (.odt, .ods, .odp) and UTF-8 text (.txt, .csv, .md)"

// UploadLimits bound attachment uploads.
type UploadLimits struct {
	MaxImageBytes    int64 // largest image upload; zero or less means the default
	MaxDocumentBytes int64 // largest document upload; zero or less means the default
	MaxPixels        int   // largest image width×height decoded; zero or less means the default
}

// DefaultUploadLimits returns 8 MiB for images, 25 MiB for documents and 40 megapixels.
func DefaultUploadLimits() UploadLimits {
	return UploadLimits{MaxImageBytes: 8 << 20, MaxDocumentBytes: 25 << 20, MaxPixels: 40_000_000}
}

func (l UploadLimits) withDefaults() UploadLimits {
	d := DefaultUploadLimits()
	if l.MaxImageBytes <= 0 {
		l.MaxImageBytes = d.MaxImageBytes
	}
	if l.MaxDocumentBytes <= 0 {
		l.MaxDocumentBytes = d.MaxDocumentBytes
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = d.MaxPixels
	}
	return l
}

// Processed is a ready-to-store attachment.
type Processed struct {
	Kind        string // KindImage or KindDocument
	ContentType string // of Data, from the bytes, never from the client
	Ext         string // lower-case extension for ContentType: ".jpg", ".png", ".pdf", ".docx"...
	// Data is, for images, the picture re-encoded (EXIF and all other metadata gone) with its
	// longest side at most MaxImageSide: PNG when the upload was a PNG or GIF (screenshots and
	// diagrams stay sharp) or has transparency, JPEG otherwise. For documents it is the bytes
	// as uploaded.
	Data []byte
	// Thumb is, for images, the picture with its longest side at most ThumbSide: JPEG, or PNG
	// when any pixel is not fully opaque. Nil for documents.
	Thumb     []byte
	ThumbType string // "image/jpeg" or "image/png"; "" for documents
	Width     int    // of Data, for images; zero for documents
	Height    int
	// FileName is the client's name cleaned for display and downloads: base name only, no
	// control or bidirectional-override characters, at most 200 bytes, "file" when nothing is
	// left, and an extension that matches ContentType.
	FileName string
	Blurhash string // images only: a 4×4-component BlurHash of the picture as a placeholder
}

// fileType is one accepted type and the extensions people give it.
type fileType struct {
	kind        string
	contentType string
	ext         string   // canonical, lower case
	aliases     []string // other extensions kept when a file name already has one
}

func (t fileType) hasExt(ext string) bool {
	ext = strings.ToLower(ext)
	if ext == t.ext {
		return true
	}
	for _, a := range t.aliases {
		if ext == a {
			return true
		}
	}
	return false
}

var (
	typeJPEG = fileType{KindImage, "image/jpeg", ".jpg", []string{".jpeg", ".jpe"}}
	typePNG  = fileType{KindImage, "image/png", ".png", nil}

	typePDF  = fileType{KindDocument, "application/pdf", ".pdf", nil}
	typeTXT  = fileType{KindDocument, "text/plain; charset=utf-8", ".txt", nil}
	typeCSV  = fileType{KindDocument, "text/csv; charset=utf-8", ".csv", nil}
	typeMD   = fileType{KindDocument, "text/markdown; charset=utf-8", ".md", []string{".markdown"}}
	typeDOCX = fileType{KindDocument, "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx", nil}
	typeXLSX = fileType{KindDocument, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx", nil}
	typePPTX = fileType{KindDocument, "application/vnd.openxmlformats-officedocument.presentationml.presentation", ".pptx", nil}
	typeODT  = fileType{KindDocument, "application/vnd.oasis.opendocument.text", ".odt", nil}
	typeODS  = fileType{KindDocument, "application/vnd.oasis.opendocument.spreadsheet", ".ods", nil}
	typeODP  = fileType{KindDocument, "application/vnd.oasis.opendocument.presentation", ".odp", nil}
	typeDOC  = fileType{KindDocument, "application/msword", ".doc", nil}
	typeXLS  = fileType{KindDocument, "application/vnd.ms-excel", ".xls", nil}
	typePPT  = fileType{KindDocument, "application/vnd.ms-powerpoint", ".ppt", nil}
)

// textTypes are decided by extension: the bytes of a CSV and of a Markdown file look alike.
var textTypes = map[string]fileType{".txt": typeTXT, ".csv": typeCSV, ".md": typeMD, ".markdown": typeMD}

// oleTypes are decided by extension: the OLE container also holds installers (.msi) and mail
// (.msg), which are not accepted.
var oleTypes = map[string]fileType{".doc": typeDOC, ".xls": typeXLS, ".ppt": typePPT}

// odfTypes maps the content of an OpenDocument "mimetype" entry to its type.
var odfTypes = map[string]fileType{
	typeODT.contentType: typeODT,
	typeODS.contentType: typeODS,
	typeODP.contentType: typeODP,
}

// ooxmlParts maps the folder that holds an Office Open XML document's main part to its type.
var ooxmlParts = []struct {
	prefix string
	t      fileType
}{{"word/", typeDOCX}, {"xl/", typeXLSX}, {"ppt/", typePPTX}}

var (
	magicPDF = []byte("%PDF-")
	magicZIP = []byte("PK\x03\x04")
	magicOLE = []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1")
	// zipDirHeader starts every central directory entry; it cannot overlap itself, so
	// counting it bounds how many entries archive/zip could parse from the same bytes.
	zipDirHeader = []byte("PK\x01\x02")
)

// ProcessUpload sniffs r and turns it into a stored form. declaredName is the client's file
// name, used only for naming and to tell office formats apart when the sniffed type is a
// ZIP or OLE container; the type is otherwise decided from the bytes.
//
// Images (JPEG, PNG, GIF's first frame, WebP) are decoded after their declared size has been
// checked against MaxPixels, turned upright per JPEG EXIF orientation, scaled down to fit
// MaxImageSide and re-encoded, with a thumbnail. Documents are PDF, Office Open XML,
// OpenDocument, legacy Office and UTF-8 text; they are checked without decompressing
// anything and kept as uploaded. Anything else is refused with an error wrapping
// ErrUnsupported, and uploads over the limits with one wrapping ErrTooLarge.
//
// Decoding an image at the pixel limit takes a few hundred MB for a moment; callers should
// bound how many uploads are processed at once.
func ProcessUpload(r io.Reader, declaredName string, lim UploadLimits) (*Processed, error) {
	lim = lim.withDefaults()
	// The leading bytes decide which size limit applies, so an oversized image is caught at
	// its own limit instead of being buffered up to the larger document one.
	head := make([]byte, 512)
	n, err := io.ReadFull(r, head)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, fmt.Errorf("media: read upload: %w", err)
	}
	head = head[:n]
	if format := sniff(head); format != "" {
		data, err := readUpTo(io.MultiReader(bytes.NewReader(head), r), lim.MaxImageBytes,
			"image is larger than %s: save it smaller or with more compression and try again")
		if err != nil {
			return nil, err
		}
		return processImage(data, format, declaredName, lim)
	}
	data, err := readUpTo(io.MultiReader(bytes.NewReader(head), r), lim.MaxDocumentBytes,
		"file is larger than %s: make it smaller, or share a link to it instead")
	if err != nil {
		return nil, err
	}
	t, err := documentType(data, declaredName)
	if err != nil {
		return nil, err
	}
	return &Processed{
		Kind:        KindDocument,
		ContentType: t.contentType,
		Ext:         t.ext,
		Data:        data,
		FileName:    fileNameFor(declaredName, t),
	}, nil
}

// readUpTo reads one byte past limit so that exactly limit bytes are accepted and anything
// longer is caught without buffering the rest. message has one %s, for the limit.
func readUpTo(r io.Reader, limit int64, message string) ([]byte, error) {
	n := limit
	if n < math.MaxInt64 {
		n++
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(r, n)); err != nil {
		return nil, fmt.Errorf("media: read upload: %w", err)
	}
	if int64(buf.Len()) > limit {
		return nil, errs.Wrap(errs.TooLarge, ErrTooLarge, message, formatBytes(limit))
	}
	return buf.Bytes(), nil
}

func unsupported(reason string) error {
	return errs.Wrap(errs.Invalid, ErrUnsupported, "%s. %s", reason, acceptedHint)
}

func processImage(data []byte, format, declaredName string, lim UploadLimits) (*Processed, error) {
	img, err := decodeGuarded(format, data, lim.MaxPixels)
	if err != nil {
		return nil, err
	}
	b := img.Bounds()
	if b.Dx() <= 0 || b.Dy() <= 0 {
		return nil, unreadable(nil)
	}
	orientation := 1
	if format == "jpeg" {
		orientation = jpegOrientation(data)
	}
	opaque := opaqueIn(img, b)

	// Scaling comes before orienting, which then touches at most MaxImageSide² pixels.
	var full image.Image
	if w, h := fit(b.Dx(), b.Dy(), MaxImageSide); w != b.Dx() || h != b.Dy() {
		full = orient(scaleTo(img, b, w, h), orientation)
	} else if orientation != 1 {
		full = orient(toRGBA(img), orientation)
	} else {
		full = img // encoded as decoded: a GIF frame stays a small paletted PNG
	}
	fb := full.Bounds()
	var thumb *image.RGBA
	if w, h := fit(fb.Dx(), fb.Dy(), ThumbSide); w != fb.Dx() || h != fb.Dy() {
		thumb = scaleTo(full, fb, w, h)
	} else {
		thumb = toRGBA(full)
	}

	// A lossless source stays lossless: a screenshot of text turned into JPEG grows halos.
	dataPNG := !opaque || format == "png" || format == "gif"
	p := &Processed{Kind: KindImage, Width: fb.Dx(), Height: fb.Dy(), ContentType: "image/jpeg", ThumbType: "image/jpeg"}
	t := typeJPEG
	if dataPNG {
		t = typePNG
	}
	p.ContentType, p.Ext = t.contentType, t.ext
	if !opaque {
		p.ThumbType = "image/png"
	}
	if p.Data, err = encode(full, dataPNG); err != nil {
		return nil, err
	}
	if p.Thumb, err = encode(thumb, !opaque); err != nil {
		return nil, err
	}
	p.FileName = fileNameFor(declaredName, t)
	p.Blurhash = blurhashOf(thumb)
	return p, nil
}

// fit returns w×h scaled down, keeping the aspect ratio, so that neither side exceeds max.
// Images that already fit are returned as they are: scaling up only adds bytes.
func fit(w, h, max int) (int, int) {
	if w <= max && h <= max {
		return w, h
	}
	long, short := w, h
	if h > w {
		long, short = h, w
	}
	s := int((int64(short)*int64(max) + int64(long)/2) / int64(long))
	if s < 1 {
		s = 1
	}
	if w >= h {
		return max, s
	}
	return s, max
}

func toRGBA(img image.Image) *image.RGBA {
	if m, ok := img.(*image.RGBA); ok && m.Rect.Min == (image.Point{}) {
		return m
	}
	b := img.Bounds()
	m := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(m, m.Bounds(), img, b.Min, draw.Src)
	return m
}

// documentType decides what a non-image upload is, or refuses it.
func documentType(data []byte, declaredName string) (fileType, error) {
	ext := declaredExt(declaredName)
	switch {
	case len(data) == 0:
		return fileType{}, unsupported("the file is empty")
	case bytes.HasPrefix(data, magicPDF):
		return typePDF, nil
	case bytes.HasPrefix(data, magicZIP):
		return archiveType(data, ext)
	case bytes.HasPrefix(data, magicOLE):
		if t, ok := oleTypes[ext]; ok {
			return t, nil
		}
		return fileType{}, unsupported("this looks like an older Microsoft Office file but is not named .doc, .xls or .ppt: if it is one, rename it")
	}
	t, ok := textTypes[ext]
	if !ok {
		return fileType{}, unsupported("this type of file cannot be attached")
	}
	if bytes.IndexByte(data, 0) >= 0 || !utf8.Valid(data) {
		return fileType{}, unsupported("this is not UTF-8 text: save it as UTF-8 and try again")
	}
	// A browser that second-guesses the declared type could render these as a page on the
	// media origin. Markdown may legitimately start with HTML (README banners), and a renderer
	// sanitises it, so only plain text and CSV are held to this.
	if t.ext != typeMD.ext && looksLikeMarkup(data) {
		return fileType{}, unsupported("text files that contain HTML or XML cannot be attached")
	}
	return t, nil
}

// looksLikeMarkup reports whether the standard content sniffer, which browsers share, would
// take data for HTML or XML, or it is an SVG document.
func looksLikeMarkup(data []byte) bool {
	ct := http.DetectContentType(data)
	if strings.HasPrefix(ct, "text/html") || strings.HasPrefix(ct, "text/xml") {
		return true
	}
	lead := bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF")), " \t\r\n\f")
	return len(lead) >= 4 && strings.EqualFold(string(lead[:4]), "<svg")
}

// archiveType accepts a ZIP only when it is an OpenDocument or Office Open XML file. Only the
// central directory is read, plus the few stored bytes of an OpenDocument "mimetype" entry:
// nothing is decompressed, so a compression bomb costs nothing here.
func archiveType(data []byte, ext string) (fileType, error) {
	if bytes.Count(data, zipDirHeader) > maxArchiveEntries {
		return fileType{}, unsupported(fmt.Sprintf(
			"this archive has more than %d entries, too many for an office document: export it as PDF and try again",
			maxArchiveEntries))
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return fileType{}, unsupported("this ZIP archive is damaged")
	}
	var contentTypes bool
	var found []fileType
	for _, f := range zr.File {
		switch {
		case f.Name == "mimetype":
			if t, ok := odfType(f); ok {
				return t, nil
			}
		case f.Name == "[Content_Types].xml":
			contentTypes = true
		case strings.HasSuffix(strings.ToLower(f.Name), "vbaproject.bin"):
			return fileType{}, unsupported("documents with macros cannot be attached: save it without macros and try again")
		}
		for _, p := range ooxmlParts {
			if strings.HasPrefix(f.Name, p.prefix) && !containsType(found, p.t) {
				found = append(found, p.t)
			}
		}
	}
	if contentTypes {
		for _, t := range found {
			if t.hasExt(ext) {
				return t, nil
			}
		}
		if len(found) == 1 {
			return found[0], nil // misnamed or unnamed: the contents are unambiguous
		}
	}
	return fileType{}, unsupported("ZIP archives cannot be attached unless they are office documents")
}

func containsType(ts []fileType, t fileType) bool {
	for _, u := range ts {
		if u.ext == t.ext {
			return true
		}
	}
	return false
}

// odfType reads an OpenDocument "mimetype" entry. The standard requires it stored, not
// compressed, and it is a few dozen bytes; anything else is not taken for one.
func odfType(f *zip.File) (fileType, bool) {
	const maxMimetype = 100
	if f.Method != zip.Store || f.UncompressedSize64 > maxMimetype {
		return fileType{}, false
	}
	rc, err := f.Open()
	if err != nil {
		return fileType{}, false
	}
	defer rc.Close()
	// Reading to the end makes archive/zip check the CRC.
	b, err := io.ReadAll(io.LimitReader(rc, maxMimetype+1))
	if err != nil || len(b) > maxMimetype {
		return fileType{}, false
	}
	t, ok := odfTypes[string(b)]
	return t, ok
}

// declaredExt is the lower-case extension of the client's file name, "" if it has none.
func declaredExt(declaredName string) string {
	_, ext := splitExt(baseName(declaredName))
	return strings.ToLower(ext)
}

// fileNameFor cleans the client's name and makes its extension agree with t: an extension
// that t goes by is kept as written, any other one is replaced, and a missing one added.
func fileNameFor(declaredName string, t fileType) string {
	stem, ext := splitExt(baseName(declaredName))
	if !t.hasExt(ext) {
		ext = t.ext
		// "report.pdf.exe" becomes "report.pdf", not "report.pdf.pdf".
		if s, e := splitExt(stem); t.hasExt(e) {
			stem, ext = s, e
		}
	}
	stem = strings.TrimRightFunc(truncateUTF8(stem, maxFileNameLen-len(ext)), trimmable)
	if stem == "" {
		stem = "file"
	}
	return stem + ext
}

// splitExt splits name before its extension: a final dot followed by one to ten ASCII
// letters and digits. Anything else after a dot ("v1.2 final") is part of the name.
func splitExt(name string) (stem, ext string) {
	i := strings.LastIndexByte(name, '.')
	if i <= 0 || len(name)-i < 2 || len(name)-i > 11 {
		return name, ""
	}
	for _, c := range []byte(name[i+1:]) {
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return name, ""
		}
	}
	return name[:i], name[i:]
}

// cleanFileName reduces a client's file name to something safe to show and to offer as a
// download name: the base name only (either slash separates, as clients on Windows send
// full paths), valid UTF-8 without control characters or the invisible direction marks that
// can make "invoice‮fdp.exe" read as "invoiceexe.pdf", no leading or trailing spaces or
// dots, and at most maxFileNameLen bytes. It may return "".
func cleanFileName(name string) string {
	return strings.TrimRightFunc(truncateUTF8(baseName(name), maxFileNameLen), trimmable)
}

// baseName is cleanFileName without the length limit, so that a long name can be shortened
// before its extension rather than lose it.
func baseName(name string) string {
	name = strings.ToValidUTF8(name, "")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || invisible(r) {
			return -1
		}
		return r
	}, name)
	return strings.TrimFunc(name, trimmable)
}

// invisible reports the format characters that reorder or hide text: bidirectional marks,
// embeddings, overrides and isolates, and the byte order mark.
func invisible(r rune) bool {
	switch {
	case r == '\u200E', r == '\u200F', r == '\u061C', r == '\uFEFF':
		return true
	case r >= '\u202A' && r <= '\u202E', r >= '\u2066' && r <= '\u2069':
		return true
	}
	return false
}

func trimmable(r rune) bool { return r == '.' || unicode.IsSpace(r) }

// truncateUTF8 shortens s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
