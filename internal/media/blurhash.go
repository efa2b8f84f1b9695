package media

import (
	"image"
	"math"
	"sync"
)

// BlurHash (https://blurha.sh) is the few-dozen-character placeholder that Mastodon's API
// gives with each attachment, so that clients can paint a blurred preview before the image
// loads. It is a handful of cosine-transform coefficients of the picture, quantised and
// written in base 83.

const (
	blurhashX    = 4 // components across, as Mastodon uses
	blurhashY    = 4 // and down
	blurhashSide = 64
	base83Chars  = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"
)

// srgbToLinear maps an 8-bit sRGB value to linear light.
var srgbToLinear = sync.OnceValue(func() *[256]float64 {
	var t [256]float64
	for i := range t {
		v := float64(i) / 255
		if v <= 0.04045 {
			t[i] = v / 12.92
		} else {
			t[i] = math.Pow((v+0.055)/1.055, 2.4)
		}
	}
	return &t
})

// blurhashOf returns the BlurHash of img. A hash holds only low frequencies, so it is taken
// from a copy at most blurhashSide pixels across, which gives the same string to within
// rounding at a fraction of the cost.
func blurhashOf(img *image.RGBA) string {
	b := img.Rect
	if b.Dx() <= 0 || b.Dy() <= 0 {
		return ""
	}
	if w, h := fit(b.Dx(), b.Dy(), blurhashSide); w != b.Dx() || h != b.Dy() {
		img = scaleTo(img, b, w, h)
	}
	return encodeBlurhash(img, blurhashX, blurhashY)
}

// encodeBlurhash follows the reference encoder. Colours are taken as stored in img, that is
// premultiplied: transparent areas read as black.
func encodeBlurhash(img *image.RGBA, cx, cy int) string {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	lin := srgbToLinear()
	cosX := make([]float64, cx*w)
	for i := range cx {
		for x := range w {
			cosX[i*w+x] = math.Cos(math.Pi * float64(i) * float64(x) / float64(w))
		}
	}
	cosY := make([]float64, cy*h)
	for j := range cy {
		for y := range h {
			cosY[j*h+y] = math.Cos(math.Pi * float64(j) * float64(y) / float64(h))
		}
	}
	factors := make([][3]float64, cx*cy)
	for y := range h {
		row := img.Pix[y*img.Stride : y*img.Stride+4*w]
		for x := range w {
			r, g, bl := lin[row[4*x]], lin[row[4*x+1]], lin[row[4*x+2]]
			for j := range cy {
				cyv := cosY[j*h+y]
				for i := range cx {
					basis := cosX[i*w+x] * cyv
					f := &factors[j*cx+i]
					f[0] += basis * r
					f[1] += basis * g
					f[2] += basis * bl
				}
			}
		}
	}
	for k := range factors {
		norm := 2.0
		if k == 0 {
			norm = 1
		}
		s := norm / float64(w*h)
		for c := range 3 {
			factors[k][c] *= s
		}
	}

	out := make([]byte, 0, 4+2*len(factors))
	out = appendBase83(out, (cx-1)+(cy-1)*9, 1)
	maxAC := 1.0
	if len(factors) > 1 {
		actual := 0.0
		for _, f := range factors[1:] {
			for _, v := range f {
				actual = math.Max(actual, math.Abs(v))
			}
		}
		q := int(math.Max(0, math.Min(82, math.Floor(actual*166-0.5))))
		maxAC = float64(q+1) / 166
		out = appendBase83(out, q, 1)
	} else {
		out = appendBase83(out, 0, 1)
	}
	dc := factors[0]
	out = appendBase83(out, linearToSRGB(dc[0])<<16|linearToSRGB(dc[1])<<8|linearToSRGB(dc[2]), 4)
	for _, f := range factors[1:] {
		v := 0
		for _, c := range f {
			q := int(math.Max(0, math.Min(18, math.Floor(signPow(c/maxAC, 0.5)*9+9.5))))
			v = v*19 + q
		}
		out = appendBase83(out, v, 2)
	}
	return string(out)
}

func linearToSRGB(v float64) int {
	v = math.Max(0, math.Min(1, v))
	if v <= 0.0031308 {
		return int(v*12.92*255 + 0.5)
	}
	return int((1.055*math.Pow(v, 1/2.4)-0.055)*255 + 0.5)
}

func signPow(v, exp float64) float64 {
	return math.Copysign(math.Pow(math.Abs(v), exp), v)
}

func appendBase83(out []byte, v, digits int) []byte {
	div := 1
	for range digits - 1 {
		div *= 83
	}
	for range digits {
		out = append(out, base83Chars[(v/div)%83])
		div /= 83
	}
	return out
}
