package elide

import (
	"slices"
	"testing"
)

func TestList(t *testing.T) {
	s := []string{"a", "b", "c", "d"}
	for n, want := range map[int][]string{
		4: {"a", "b", "c", "d"},
		9: {"a", "b", "c", "d"},
		2: {"a", "b", "...(2 more)"},
		0: {"...(4 more)"},
	} {
		if got := List(s, n); !slices.Equal(got, want) {
			t.Errorf("List(%v, %d) = %v, want %v", s, n, got, want)
		}
	}
	if !slices.Equal(s, []string{"a", "b", "c", "d"}) {
		t.Errorf("List changed its argument: %v", s)
	}
}
