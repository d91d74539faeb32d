package pdf_test

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"milogin/apps/cars/pdf"
)

// TestWriteStructure checks what a PDF reader relies on: the header, every
// object at the offset the cross-reference table gives, startxref pointing
// at the table, and the text escaped in the content stream.
func TestWriteStructure(t *testing.T) {
	var buf bytes.Buffer
	if err := pdf.Write(&buf, "Letter", []pdf.Line{{Text: "Code (A\\B) 7KQ4-M2XD", Bold: true}, {Text: "café"}}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.HasPrefix(out, "%PDF-1.4\n") || !strings.HasSuffix(out, "%%EOF\n") {
		t.Fatalf("not a PDF:\n%s", out)
	}
	m := regexp.MustCompile(`startxref\n(\d+)\n`).FindStringSubmatch(out)
	if m == nil {
		t.Fatal("no startxref")
	}
	xref, _ := strconv.Atoi(m[1])
	if !strings.HasPrefix(out[xref:], "xref\n0 8\n") {
		t.Fatalf("startxref %d does not point at the xref table: %q", xref, out[xref:xref+20])
	}
	entries := regexp.MustCompile(`(\d{10}) 00000 n `).FindAllStringSubmatch(out[xref:], -1)
	if len(entries) != 7 {
		t.Fatalf("%d xref entries, want 7", len(entries))
	}
	for i, e := range entries {
		off, _ := strconv.Atoi(e[1])
		if want := strconv.Itoa(i+1) + " 0 obj\n"; !strings.HasPrefix(out[off:], want) {
			t.Errorf("entry %d points at %q, want %q", i+1, out[off:off+10], want)
		}
	}
	for _, want := range []string{`(Code \(A\\B\) 7KQ4-M2XD) Tj`, `(caf?) Tj`, "/F2 11.0 Tf"} {
		if !strings.Contains(out, want) {
			t.Errorf("content lacks %q", want)
		}
	}
}
