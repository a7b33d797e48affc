package crs

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// The backend the CRS tests assume: Albedo (github.com/coreruleset/albedo),
// an HTTP reflector and black hole. The response tests (RESPONSE-95x)
// POST a JSON specification to /reflect and expect the response it
// describes; every other request gets 200 with an empty body.

// reflection is the /reflect request body.
type reflection struct {
	Status      int               `json:"status"`
	Headers     map[string]string `json:"headers"`
	Body        string            `json:"body"`
	EncodedBody string            `json:"encodedBody"`
	LogMessage  string            `json:"logMessage"`
}

// albedo is the handler. Like Albedo, it writes no Content-Type of its own:
// net/http sniffs one from the body, as it does in Albedo.
func albedo() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /reflect", reflect)
	mux.HandleFunc("POST /reflect/", reflect)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	})
	return mux
}

func reflect(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		refuse(w, "Failed to parse request body")
		return
	}
	var spec reflection
	if err := json.Unmarshal(body, &spec); err != nil {
		refuse(w, "Invalid JSON in request body")
		return
	}
	if spec.Status != 0 && (spec.Status < 100 || spec.Status > 599) {
		refuse(w, fmt.Sprintf("Invalid status code: %d", spec.Status))
		return
	}
	out := []byte(spec.Body)
	if spec.Body == "" && spec.EncodedBody != "" {
		if out, err = base64.StdEncoding.DecodeString(spec.EncodedBody); err != nil {
			refuse(w, "invalid base64 encoding of response body")
			return
		}
	}
	for name, value := range spec.Headers {
		w.Header().Add(name, value)
	}
	status := spec.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

// refuse answers 400 with a plain message, as Albedo does.
func refuse(w http.ResponseWriter, msg string) {
	w.WriteHeader(http.StatusBadRequest)
	_, _ = io.WriteString(w, msg)
}

// startAlbedo serves albedo on a loopback port until the test ends and
// returns its URL.
func startAlbedo(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: albedo()}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

func TestAlbedo(t *testing.T) {
	base := startAlbedo(t)
	cases := []struct {
		name, method, path, body string
		status                   int
		header                   map[string]string
		want                     string
	}{
		{"default GET", "GET", "/get?x=1", "", 200, nil, ""},
		{"default POST", "POST", "/post", "a=b", 200, nil, ""},
		{"reflect body", "POST", "/reflect", `{"body":"<?php echo 1; ?>"}`, 200, nil, "<?php echo 1; ?>"},
		{"reflect status and headers", "POST", "/reflect", `{"status":503,"headers":{"X-Test":"yes"},"body":"down"}`, 503, map[string]string{"X-Test": "yes"}, "down"},
		{"reflect encoded body", "POST", "/reflect", `{"encodedBody":"` + base64.StdEncoding.EncodeToString([]byte("\x00bin")) + `"}`, 200, nil, "\x00bin"},
		{"reflect empty spec", "POST", "/reflect", `{}`, 200, nil, ""},
		{"reflect bad JSON", "POST", "/reflect", `{`, 400, nil, "Invalid JSON in request body"},
		{"reflect bad status", "POST", "/reflect", `{"status":42}`, 400, nil, "Invalid status code: 42"},
		{"reflect is POST only", "GET", "/reflect", "", 200, nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != c.status || string(got) != c.want {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, got, c.status, c.want)
			}
			for k, v := range c.header {
				if resp.Header.Get(k) != v {
					t.Errorf("header %s = %q, want %q", k, resp.Header.Get(k), v)
				}
			}
		})
	}
}
