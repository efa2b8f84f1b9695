package media

import (
	"image"
	"math"
	"strings"
	"testing"
)

// naiveBlurhash is the reference encoder transcribed as plainly as possible, with no tables,
// to check the faster encodeBlurhash against.
func naiveBlurhash(img *image.RGBA, cx, cy int) string {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	toLinear := func(v uint8) float64 {
		f := float64(v) / 255
		if f <= 0.04045 {
			return f / 12.92
		}
		return math.Pow((f+0.055)/1.055, 2.4)
	}
	var factors [][3]float64
	for j := 0; j < cy; j++ {
		for i := 0; i < cx; i++ {
			norm := 2.0
			if i == 0 && j == 0 {
				norm = 1
			}
			var f [3]float64
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					basis := norm * math.Cos(math.Pi*float64(i)*float64(x)/float64(w)) * math.Cos(math.Pi*float64(j)*float64(y)/float64(h))
					p := img.Pix[img.PixOffset(x, y):]
					f[0] += basis * toLinear(p[0])
					f[1] += basis * toLinear(p[1])
					f[2] += basis * toLinear(p[2])
				}
			}
			for c := range f {
				f[c] /= float64(w * h)
			}
			factors = append(factors, f)
		}
	}
	enc := func(v, n int) string {
		s := ""
		for k := 1; k <= n; k++ {
			s += string(base83Chars[(v/int(math.Pow(83, float64(n-k))))%83])
		}
		return s
	}
	hash := enc((cx-1)+(cy-1)*9, 1)
	maxValue := 1.0
	if len(factors) > 1 {
		actual := 0.0
		for _, f := range factors[1:] {
			for _, v := range f {
				actual = math.Max(actual, math.Abs(v))
			}
		}
		q := int(math.Floor(math.Max(0, math.Min(82, math.Floor(actual*166-0.5)))))
		maxValue = float64(q+1) / 166
		hash += enc(q, 1)
	} else {
		hash += enc(0, 1)
	}
	dc := factors[0]
	hash += enc(linearToSRGB(dc[0])*65536+linearToSRGB(dc[1])*256+linearToSRGB(dc[2]), 4)
	for _, f := range factors[1:] {
		q := func(v float64) int {
			return int(math.Floor(math.Max(0, math.Min(18, math.Floor(signPow(v/maxValue, 0.5)*9+9.5)))))
		}
		hash += enc(q(f[0])*19*19+q(f[1])*19+q(f[2]), 2)
	}
	return hash
}

func TestEncodeBlurhashSolidColour(t *testing.T) {
	// Worked by hand: size flag 0 and no AC ("00"), then 0xFF0000 in four base-83 digits:
	// 29, 18, 70, 45.
	img := rgbaHalves(10, 10, red, red)
	if got := encodeBlurhash(img, 1, 1); got != "00TI:j" {
		t.Errorf("solid red = %q, want 00TI:j", got)
	}
}

func TestEncodeBlurhashMatchesReference(t *testing.T) {
	seed := uint32(7)
	for _, size := range []image.Point{{1, 1}, {7, 3}, {32, 24}, {64, 17}} {
		img := image.NewRGBA(image.Rectangle{Max: size})
		for i := range img.Pix {
			seed = seed*1664525 + 1013904223
			img.Pix[i] = uint8(seed >> 24)
		}
		for _, c := range []image.Point{{1, 1}, {4, 3}, {4, 4}, {9, 9}} {
			got, want := encodeBlurhash(img, c.X, c.Y), naiveBlurhash(img, c.X, c.Y)
			if got != want {
				t.Errorf("%v image, %v components: %q, reference %q", size, c, got, want)
			}
			if len(got) != 6+2*(c.X*c.Y-1) {
				t.Errorf("%v components: %d characters", c, len(got))
			}
		}
	}
}

func TestBlurhashOf(t *testing.T) {
	// Left red, right blue: the first horizontal component carries the split, while the
	// second vertical one sums a whole cosine period over uniform columns, which is zero and
	// quantises to 9 in each channel. (Odd vertical components are not quite zero: the
	// reference samples the cosine at pixel edges, not centres.)
	h := blurhashOf(rgbaHalves(400, 300, red, blue))
	if len(h) != 36 || h[0] != 'U' {
		t.Fatalf("hash %q: want 36 characters for 4×4 components", h)
	}
	zeroAC := string(base83Chars[(9*361+9*19+9)/83]) + string(base83Chars[(9*361+9*19+9)%83])
	k := 2 * 4 // component (0, 2)
	if ac := h[6+2*(k-1) : 6+2*k]; ac != zeroAC {
		t.Errorf("vertical component 2 = %q, want %q", ac, zeroAC)
	}
	if ac := h[6:8]; ac == zeroAC {
		t.Error("horizontal component 1 is zero for a left/right split")
	}
	if strings.ContainsAny(h, " \"'\\") {
		t.Errorf("hash %q has characters outside base 83", h)
	}
	if blurhashOf(image.NewRGBA(image.Rect(0, 0, 0, 0))) != "" {
		t.Error("empty image has a hash")
	}
}
