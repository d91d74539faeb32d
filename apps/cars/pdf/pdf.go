// Package pdf writes a one-page PDF of plain text lines: enough for a
// printable letter, with no dependency. The page is US Letter, the font is
// the standard Helvetica (no font file is embedded), the text is limited to
// printable ASCII (anything else is written as '?').
package pdf

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// Line is a line of text; Size is the font size in points (0 means 11) and
// Bold chooses Helvetica-Bold.
type Line struct {
	Text string
	Size float64
	Bold bool
}

// Write writes a single-page PDF with the lines from the top left margin
// down; lines that do not fit are dropped (a letter is short).
func Write(w io.Writer, title string, lines []Line) error {
	var content bytes.Buffer
	y := 792.0 - 72
	for _, l := range lines {
		size := l.Size
		if size == 0 {
			size = 11
		}
		y -= size * 1.4
		if y < 54 {
			break
		}
		font := "F1"
		if l.Bold {
			font = "F2"
		}
		fmt.Fprintf(&content, "BT /%s %.1f Tf 72 %.1f Td (%s) Tj ET\n", font, size, y, escape(l.Text))
	}
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> /Contents 6 0 R >>",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", content.Len(), content.String()),
		fmt.Sprintf("<< /Title (%s) /Producer (CARS e-Services) >>", escape(title)),
	}
	var out bytes.Buffer
	out.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = out.Len()
		fmt.Fprintf(&out, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := out.Len()
	fmt.Fprintf(&out, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&out, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&out, "trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, len(objs), xref)
	_, err := w.Write(out.Bytes())
	return err
}

// escape makes s a PDF literal string's contents.
func escape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '(' || r == ')' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r >= 0x20 && r < 0x7f:
			b.WriteRune(r)
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}
