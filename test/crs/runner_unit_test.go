package crs

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestJudge checks the verdict against go-ftw's rules on made-up outcomes.
func TestJudge(t *testing.T) {
	ev := func(ids ...string) []securityEvent {
		e := securityEvent{Layer: "waf", Action: "block"}
		for _, id := range ids {
			e.Rules = append(e.Rules, struct {
				ID       string `json:"id"`
				Message  string `json:"message"`
				Severity string `json:"severity"`
				Data     string `json:"data"`
			}{ID: id, Message: "msg " + id, Data: "Matched Data: a\r\nb found within ARGS:x: a\r\nb"})
		}
		return []securityEvent{e}
	}
	ok := func(status int, evs []securityEvent) *observed {
		return &observed{status: status, requestID: "r", complete: true, events: evs, response: "HTTP/1.1 200 OK\r\n\r\nhello"}
	}
	cases := []struct {
		name string
		out  ftwOutput
		obs  *observed
		fail string // substring of the failure; "" for a pass
	}{
		{"expected present", ftwOutput{Log: ftwLog{ExpectIDs: []int{942100}}}, ok(403, ev("942100", "949110")), ""},
		{"expected missing", ftwOutput{Log: ftwLog{ExpectIDs: []int{942100}}}, ok(200, nil), "expected rules [942100] missing"},
		{"unexpected present", ftwOutput{Log: ftwLog{NoExpectIDs: []int{942100}}}, ok(403, ev("942100")), "unexpected rules [942100]"},
		{"unexpected absent", ftwOutput{Log: ftwLog{NoExpectIDs: []int{942100}}}, ok(200, ev("920350")), ""},
		{"candidate rule set ignored", ftwOutput{Log: ftwLog{NoExpectIDs: []int{942100}}},
			ok(200, []securityEvent{{Layer: "waf", RuleSet: "candidate", Rules: ev("942100")[0].Rules}}), ""},
		{"status", ftwOutput{Status: 400}, ok(403, nil), "status 403, expected 400"},
		{"expect_error met", ftwOutput{ExpectError: ptr(true)}, &observed{err: errors.New("EOF")}, ""},
		{"expect_error unmet", ftwOutput{ExpectError: ptr(true)}, ok(400, nil), "expected an error"},
		{"unexpected error", ftwOutput{}, &observed{err: errors.New("EOF")}, "error: EOF"},
		{"match_regex across escaped line ends", ftwOutput{Log: ftwLog{MatchRegex: `Matched Data: a.*b found within ARGS:x: a.*b`}}, ok(403, ev("1")), ""},
		{"match_regex on id and msg", ftwOutput{Log: ftwLog{MatchRegex: `\[id "922130"\].*\[msg "msg 922130"\]`}}, ok(403, ev("922130")), ""},
		{"no_match_regex", ftwOutput{Log: ftwLog{NoMatchRegex: `id "1"`}}, ok(403, ev("1")), "a log line matches"},
		{"response_contains", ftwOutput{ResponseContains: "hel+o"}, ok(200, nil), ""},
		{"response_contains unmet", ftwOutput{ResponseContains: "bye"}, ok(200, nil), "response does not match"},
		{"isolated", ftwOutput{Isolated: true, Log: ftwLog{ExpectIDs: []int{1}}}, ok(403, ev("1", "2")), "isolated test triggered 2 rules"},
		{"events incomplete", ftwOutput{}, &observed{status: 200, requestID: "r"}, "no access record"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			why := judge(&ftwStage{Output: c.out}, c.obs)
			if c.fail == "" && why != "" || c.fail != "" && !strings.Contains(why, c.fail) {
				t.Errorf("judge = %q, want %q", why, c.fail)
			}
		})
	}
}

// TestEventLog checks that events split across writes are indexed by
// request and released by the access record.
func TestEventLog(t *testing.T) {
	l := newEventLog()
	sec := `{"type":"security","request_id":"a","layer":"waf","action":"block","rules":[{"id":"942100"}]}` + "\n"
	_, _ = l.Write([]byte(sec[:20]))
	_, _ = l.Write([]byte(sec[20:] + `{"type":"access","request_id":"b"}` + "\n"))
	go func() {
		time.Sleep(10 * time.Millisecond)
		_, _ = l.Write([]byte(`{"type":"access","request_id":"a"}` + "\n"))
	}()
	evs, ok := l.await("a", 5*time.Second)
	if !ok || len(evs) != 1 || evs[0].Rules[0].ID != "942100" {
		t.Fatalf("await a = %+v, %v", evs, ok)
	}
	if evs, ok := l.await("b", time.Second); !ok || len(evs) != 0 {
		t.Fatalf("await b = %+v, %v", evs, ok)
	}
	if _, ok := l.await("c", 10*time.Millisecond); ok {
		t.Fatal("await c: complete without an access record")
	}
}
