// Package fuzzbytes turns a fuzzer's input into a stream of choices, for
// fuzz targets that generate programs or argument values from bytes.
package fuzzbytes

// Reader hands out the bytes of Data one at a time; past the end it gives
// zeros, so every input, however short, makes a complete choice. The zero
// Reader, like a nil *Reader, has no bytes: it gives only zeros.
type Reader struct {
	Data []byte
	i    int
}

// Next returns the next byte, or 0 past the end.
func (r *Reader) Next() byte {
	if r == nil || r.i >= len(r.Data) {
		return 0
	}
	b := r.Data[r.i]
	r.i++
	return b
}

// Done reports whether every byte has been handed out.
func (r *Reader) Done() bool { return r == nil || r.i >= len(r.Data) }
