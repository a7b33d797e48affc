package crs

import (
	"strings"
	"testing"
)

// TestLoadCRSTests loads every test file of the module strictly and checks
// the figures the runner relies on.
func TestLoadCRSTests(t *testing.T) {
	dir, err := crsTestsDir()
	if err != nil {
		t.Fatal(err)
	}
	files, err := loadFTW(dir)
	if err != nil {
		t.Fatal(err)
	}
	tests, stages := 0, 0
	features := map[string]int{}
	ids := map[string]string{}
	for _, f := range files {
		for i := range f.Tests {
			tc := &f.Tests[i]
			tests++
			if prev, ok := ids[tc.ID()]; ok {
				t.Errorf("test %s in %s and %s", tc.ID(), prev, f.Path)
			}
			ids[tc.ID()] = f.Path
			for _, s := range tc.Stages {
				stages++
				in, out := s.Input, s.Output
				count := func(name string, on bool) {
					if on {
						features[name]++
					}
				}
				count("encoded_request", in.EncodedRequest != "")
				count("raw_request", in.RawRequest != "")
				count("encoded_data", in.EncodedData != nil)
				count("autocomplete_headers=false", in.AutocompleteHeaders != nil && !*in.AutocompleteHeaders)
				count("save_cookie", in.SaveCookie != nil && *in.SaveCookie)
				count("follow_redirect", in.FollowRedirect != nil && *in.FollowRedirect)
				count("uris", len(in.URIs) > 0)
				count("input.response", in.Response != nil)
				count("virtual_host_mode", in.VirtualHostMode != nil && *in.VirtualHostMode)
				count("protocol", in.Protocol != nil)
				count("status", out.Status != 0)
				count("response_contains", out.ResponseContains != "")
				count("log_contains", out.LogContains != "" || out.NoLogContains != "")
				count("expect_ids", len(out.Log.ExpectIDs) > 0)
				count("no_expect_ids", len(out.Log.NoExpectIDs) > 0)
				count("match_regex", out.Log.MatchRegex != "")
				count("no_match_regex", out.Log.NoMatchRegex != "")
				count("expect_error", out.ExpectError != nil && *out.ExpectError)
				count("retry_once", out.RetryOnce != nil && *out.RetryOnce)
				count("isolated", out.Isolated)
				count("no host header", !hasHostHeader(in.Headers) && in.EncodedRequest == "")
			}
		}
	}
	t.Logf("%d files, %d tests, %d stages; features: %v", len(files), tests, stages, features)
	if tests < 4000 {
		t.Errorf("only %d tests loaded", tests)
	}
	for _, f := range files {
		if strings.Contains(f.Path, "999999") {
			t.Logf("benign test file: %s", f.Path)
		}
	}
}

func hasHostHeader(h map[string]string) bool {
	for k := range h {
		if strings.EqualFold(k, "host") {
			return true
		}
	}
	return false
}

func ptr[T any](v T) *T { return &v }

// TestBuildRequest checks that stages become the bytes go-ftw sends.
func TestBuildRequest(t *testing.T) {
	cases := []struct {
		name string
		in   ftwInput
		want string
	}{
		{"defaults, headers sorted, Connection added",
			ftwInput{Headers: map[string]string{"User-Agent": "ua", "Host": "localhost", "Accept": "*/*"}},
			"GET / HTTP/1.1\r\nAccept: */*\r\nHost: localhost\r\nUser-Agent: ua\r\nConnection: close\r\n\r\n"},
		{"form body encoded, Content-Type and Content-Length added",
			ftwInput{Method: ptr("POST"), URI: ptr("/post"), Headers: map[string]string{"Host": "h"}, Data: ptr("a=1 2&b=<x>&c")},
			"POST /post HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\nConnection: close\r\nContent-Length: 17\r\n\r\na=1+2&b=%3Cx%3E&c"},
		{"encoded form body kept",
			ftwInput{Method: ptr("POST"), Data: ptr("a=%3Cx%3E")},
			"POST / HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nConnection: close\r\nContent-Length: 9\r\n\r\na=%3Cx%3E"},
		{"trailing ampersand dropped",
			ftwInput{Method: ptr("POST"), Data: ptr("a=b&")},
			"POST / HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nConnection: close\r\nContent-Length: 3\r\n\r\na=b"},
		{"other content types verbatim",
			ftwInput{Method: ptr("POST"), Headers: map[string]string{"Content-Type": "application/json"}, Data: ptr(`{"a": "b c"}`)},
			"POST / HTTP/1.1\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: 12\r\n\r\n{\"a\": \"b c\"}"},
		{"multipart gets CRLF",
			ftwInput{Method: ptr("POST"), Headers: map[string]string{"Content-Type": "multipart/form-data; boundary=x"}, Data: ptr("--x\nA: b\n\nv\n--x--\n")},
			"POST / HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=x\r\nConnection: close\r\nContent-Length: 23\r\n\r\n--x\r\nA: b\r\n\r\nv\r\n--x--\r\n"},
		{"PUT without body gets Content-Length 0",
			ftwInput{Method: ptr("PUT")},
			"PUT / HTTP/1.1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"},
		{"no autocompletion",
			ftwInput{Method: ptr("POST"), Version: ptr("HTTP/1.0"), Headers: map[string]string{"Content-Length": "3"}, Data: ptr("a b"), AutocompleteHeaders: ptr(false)},
			"POST / HTTP/1.0\r\nContent-Length: 3\r\n\r\na b"},
		{"template data",
			ftwInput{Method: ptr("POST"), Headers: map[string]string{"Content-Type": "text/plain"}, Data: ptr(`x={{ "1" | repeat 3 }}`)},
			"POST / HTTP/1.1\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: 5\r\n\r\nx=111"},
		{"request line as written",
			ftwInput{Method: ptr("\tGET"), URI: ptr("/a b"), Version: ptr("")},
			"\tGET /a b \r\nConnection: close\r\n\r\n"},
		{"encoded_request verbatim",
			ftwInput{EncodedRequest: "R0VUIC8gSFRUUC8xLjANCkhvc3Q6DQoNCg==", Headers: map[string]string{"Ignored": "yes"}},
			"GET / HTTP/1.0\r\nHost:\r\n\r\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := buildRequest(&c.in)
			if err != nil {
				t.Fatal(err)
			}
			if string(got.raw) != c.want {
				t.Errorf("got\n%q\nwant\n%q", got.raw, c.want)
			}
		})
	}
}
