package events

import "testing"

func TestRedactURI(t *testing.T) {
	for in, want := range map[string]string{
		"/":                                  "/",
		"/search?q=shoes&page=2":             "/search?q=shoes&page=2",
		"/login?user=bob&password=hunter2":   "/login?user=bob&password=[redacted]",
		"/cb?access_token=abc.def&state=xyz": "/cb?access_token=[redacted]&state=xyz",
		"/x?API_KEY=123":                     "/x?API_KEY=[redacted]",
		"/x?pass%77ord=hunter2":              "/x?pass%77ord=[redacted]",
		"/s3?X-Amz-Signature=abcd&x=1":       "/s3?X-Amz-Signature=[redacted]&x=1",
		"/x?flag&token=":                     "/x?flag&token=[redacted]",
		"/?id=1'%20OR%20'1'='1":              "/?id=1'%20OR%20'1'='1",
	} {
		if got := RedactURI(in); got != want {
			t.Errorf("RedactURI(%q) = %q, want %q", in, got, want)
		}
	}
}
