package tiered

import (
	"testing"

	"k8s.io/apimachinery/pkg/labels"
)

func TestSelector(t *testing.T) {
	l := labels.Set{"app": "web", "env": "prod"}
	for _, tc := range []struct {
		sel  string
		want bool
	}{
		{"", true},
		{"all()", true},
		{"global()", false},
		{"app == 'web'", true},
		{`app == "api"`, false},
		{"team != 'x'", true}, // absent label
		{"app in {'api', 'web'}", true},
		{"team not in {'x'}", true},
		{"app not in {'web'}", false},
		{"has(env) && !has(team)", true},
		{"app == 'api' || env == 'prod' && app == 'web'", true}, // && binds tighter
		{"(app == 'api' || env == 'prod') && app == 'x'", false},
		{"app starts with 'w' && env ends with 'od' && app contains 'e'", true},
	} {
		s, err := parseSelector(tc.sel)
		if err != nil {
			t.Errorf("%q: %v", tc.sel, err)
			continue
		}
		if got := s.matches(l); got != tc.want {
			t.Errorf("%q matches = %v, want %v", tc.sel, got, tc.want)
		}
	}
	for _, bad := range []string{"app = 'x'", "app == x", "has(app", "(app == 'x'", "app in {'x'", "app == 'x' &&"} {
		if _, err := parseSelector(bad); err == nil {
			t.Errorf("%q: parsed, want an error", bad)
		}
	}
}
