package loadbalancer

import (
	"slices"
	"testing"

	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
)

// A more specific pattern gets a lower priority (matched first); appending a pattern renumbers no other; the
// order is the one make up's edge routes in (manifest.WebServices).
func TestRoutePriorities(t *testing.T) {
	patterns := []string{"/api/*", "/api/catalog/*", "/api/search/*", "/admin/*"}
	got, err := RoutePriorities(patterns)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{9010, 8010, 8020, 9020}; !slices.Equal(got, want) {
		t.Errorf("RoutePriorities(%q) = %v; want %v", patterns, got, want)
	}
	more, _ := RoutePriorities(append(slices.Clone(patterns), "/api/catalog/items/*"))
	if !slices.Equal(more[:len(got)], got) {
		t.Errorf("appending a pattern renumbered the others: %v, then %v", got, more)
	}
	m := &manifest.Manifest{}
	for i, p := range patterns {
		m.Services = append(m.Services, manifest.Service{Name: p, Kind: manifest.KindWeb, PathPattern: p, Port: 8080 + i})
	}
	var byPrecedence []int
	for _, s := range m.WebServices() {
		byPrecedence = append(byPrecedence, got[slices.Index(patterns, s.PathPattern)])
	}
	if !slices.IsSorted(byPrecedence) {
		t.Errorf("priorities in manifest.WebServices' order = %v; want ascending, so the edge and the load balancer agree", byPrecedence)
	}
	if _, err := RoutePriorities([]string{"*"}); err == nil {
		t.Error(`RoutePriorities("*") = nil error; want one`)
	}
}
