package route

import "testing"

func TestMatch(t *testing.T) {
	tb := New[string]()
	tb.Add([]string{"shop.example.com"}, []string{"/"}, "shop-root")
	tb.Add([]string{"shop.example.com"}, []string{"/api", "/static"}, "shop-api")
	tb.Add([]string{"shop.example.com"}, []string{"/api/admin"}, "shop-admin")
	tb.Add([]string{"*.example.com"}, []string{"/"}, "wild")
	tb.Add([]string{"*.example.com"}, []string{"/blog"}, "wild-blog")
	tb.Add([]string{"only.example.org", "app.example.com"}, []string{"/app"}, "app")

	cases := []struct {
		name, host, path, want string
	}{
		{"exact root", "shop.example.com", "/", "shop-root"},
		{"port and case ignored", "SHOP.example.com:8443", "/", "shop-root"},
		{"trailing dot ignored", "shop.example.com.", "/x", "shop-root"},
		{"prefix exact", "shop.example.com", "/api", "shop-api"},
		{"prefix segment", "shop.example.com", "/api/v1/items", "shop-api"},
		{"prefix needs whole segment", "shop.example.com", "/apix", "shop-root"},
		{"longest prefix wins", "shop.example.com", "/api/admin/users", "shop-admin"},
		{"second prefix of a route", "shop.example.com", "/static/app.js", "shop-api"},
		{"dot segments cleaned", "shop.example.com", "/static/../api/admin", "shop-admin"},
		{"double slash cleaned", "shop.example.com", "//api//admin", "shop-admin"},
		{"exact host beats wildcard", "shop.example.com", "/blog", "shop-root"},
		{"wildcard one label", "a.example.com", "/", "wild"},
		{"wildcard longest prefix", "a.example.com", "/blog/post", "wild-blog"},
		{"wildcard not two labels", "a.b.example.com", "/", ""},
		{"wildcard not apex", "example.com", "/", ""},
		{"unknown host", "other.test", "/", ""},
		{"no prefix matches", "only.example.org", "/other", ""},
		{"exact host does not fall back to wildcard", "app.example.com", "/", ""},
		{"exact host path", "app.example.com", "/app", "app"},
		{"prefix with trailing slash", "only.example.org", "/app/", "app"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, _ := tb.Match(c.host, c.path)
			if got != c.want {
				t.Errorf("Match(%q, %q) = %q, want %q", c.host, c.path, got, c.want)
			}
		})
	}
}

func TestCleanPath(t *testing.T) {
	for in, want := range map[string]string{
		"": "/", "/": "/", "/a/": "/a/", "/a/./b": "/a/b", "/a/../../b": "/b", "a": "/a", "/a//b/": "/a/b/",
	} {
		if got := CleanPath(in); got != want {
			t.Errorf("CleanPath(%q) = %q, want %q", in, got, want)
		}
	}
}
