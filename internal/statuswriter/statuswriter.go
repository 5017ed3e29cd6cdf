// Package statuswriter remembers the status code an HTTP handler answered,
// for the middlewares that record it (a trace's span, a metric).
package statuswriter

import "net/http"

// Writer is an http.ResponseWriter that remembers the first status code
// written through it.
type Writer struct {
	http.ResponseWriter
	code int
	told bool
}

// New returns a Writer on w.
func New(w http.ResponseWriter) *Writer {
	return &Writer{ResponseWriter: w, code: http.StatusOK}
}

// Code is the status answered: the first one written, or 200 when the
// handler wrote none (as net/http answers then).
func (w *Writer) Code() int { return w.code }

// WriteHeader remembers code, unless one was written before, and writes it.
func (w *Writer) WriteHeader(code int) {
	if !w.told {
		w.code, w.told = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *Writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }
