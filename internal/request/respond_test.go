package request

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestDenyRendersByAccept(t *testing.T) {
	cases := []struct {
		name, accept, contentType string
		wantJSON                  bool
	}{
		{"browser", "text/html,application/xhtml+xml,*/*;q=0.8", "", false},
		{"no accept", "", "", false},
		{"json", "application/json", "", true},
		{"problem+json", "application/problem+json", "", true},
		{"json preferred by q", "text/html;q=0.5, application/json", "", true},
		{"html preferred by q", "application/json;q=0.1, text/html", "", false},
		{"json body, no accept", "", "application/json; charset=utf-8", true},
		{"garbage accept", ";;;", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/x", nil)
			r.Header.Set("Accept", c.accept)
			r.Header.Set("Content-Type", c.contentType)
			s := &State{ID: "req-123"}
			r = r.WithContext(With(r.Context(), s))
			w := httptest.NewRecorder()
			Deny(w, r, Verdict{Layer: LayerWAF, Action: ActionBlock, Status: 403, Cause: "rule 942100 matched 'secret-internal'"})

			if w.Code != 403 {
				t.Fatalf("status %d", w.Code)
			}
			body := w.Body.String()
			if strings.Contains(body, "942100") || strings.Contains(body, "secret-internal") {
				t.Errorf("the cause leaked to the client: %s", body)
			}
			if !strings.Contains(body, "req-123") || w.Header().Get("X-Request-ID") != "req-123" {
				t.Errorf("request ID missing: %s", body)
			}
			gotJSON := strings.HasPrefix(w.Header().Get("Content-Type"), "application/json")
			if gotJSON != c.wantJSON {
				t.Fatalf("Content-Type %q, want JSON=%v", w.Header().Get("Content-Type"), c.wantJSON)
			}
			if gotJSON {
				var b errorBody
				if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil || b.Status != 403 || b.RequestID != "req-123" {
					t.Errorf("JSON body %q: %v", body, err)
				}
			}
			if len(s.Verdicts) != 1 || s.Verdicts[0].Cause == "" {
				t.Errorf("verdict not recorded on the state: %+v", s.Verdicts)
			}
		})
	}
}

func TestDenyEscapesAndHeaders(t *testing.T) {
	r := httptest.NewRequest("HEAD", "/", nil)
	r = r.WithContext(With(r.Context(), &State{ID: "<script>"}))
	w := httptest.NewRecorder()
	Deny(w, r, Verdict{Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"3"}}})
	if w.Code != 429 || w.Header().Get("Retry-After") != "3" || w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("status %d headers %v", w.Code, w.Header())
	}
	if w.Body.Len() != 0 {
		t.Errorf("HEAD got a body: %q", w.Body.String())
	}
	r = httptest.NewRequest("GET", "/", nil)
	r = r.WithContext(With(r.Context(), &State{ID: "<script>"}))
	w = httptest.NewRecorder()
	Deny(w, r, Verdict{Status: 502})
	if strings.Contains(w.Body.String(), "<script>") {
		t.Errorf("request ID not escaped: %s", w.Body.String())
	}
}
