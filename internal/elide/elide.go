// Package elide shortens lists of ids for lines that people read.
package elide

import "fmt"

// List returns s when it holds at most n items, else its first n and then
// "...(k more)" for the k left out. It never changes s.
func List(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(s[:n:n], fmt.Sprintf("...(%d more)", len(s)-n))
}
