package waf

import (
	"strings"
	"testing"

	"github.com/corazawaf/coraza/v3"
	"github.com/corazawaf/coraza/v3/types"
)

func TestMatchesRedactCredentials(t *testing.T) {
	w, err := coraza.NewWAF(coraza.NewWAFConfig().WithDirectives(`
SecRuleEngine On
SecRequestBodyAccess On
SecRule ARGS|REQUEST_COOKIES|REQUEST_HEADERS:Authorization "@contains hunter2" "id:10,phase:2,log,pass,severity:CRITICAL,msg:'secret seen',logdata:'Matched Data: %{MATCHED_VAR} found within %{MATCHED_VAR_NAME}'"
SecRule ARGS:q "@contains attack" "id:11,phase:2,log,pass,msg:'attack seen',logdata:'Matched Data: %{MATCHED_VAR}'"
SecRule ARGS:q "@contains attack" "id:12,phase:2,nolog,pass"
`))
	if err != nil {
		t.Fatal(err)
	}
	for name, setup := range map[string]func(tx types.Transaction){
		"password argument": func(tx types.Transaction) {
			tx.AddGetRequestArgument("user_password", "hunter2-and-more")
		},
		"cookie": func(tx types.Transaction) {
			tx.AddRequestHeader("Cookie", "sid=hunter2-and-more")
		},
		"authorization": func(tx types.Transaction) {
			tx.AddRequestHeader("Authorization", "Bearer hunter2-and-more")
		},
	} {
		t.Run(name, func(t *testing.T) {
			tx := w.NewTransaction()
			defer tx.Close()
			tx.ProcessURI("/?q=attack"+strings.Repeat("A", 300), "GET", "HTTP/1.1")
			setup(tx)
			tx.ProcessRequestHeaders()
			if _, err := tx.ProcessRequestBody(); err != nil {
				t.Fatal(err)
			}
			rules := matches(tx)
			ids := map[string]string{}
			for _, r := range rules {
				ids[r.ID] = r.Data
				if strings.Contains(r.Data, "hunter2") {
					t.Errorf("rule %s leaks the credential: %q", r.ID, r.Data)
				}
				if len(r.Data) > maxData+len("…") {
					t.Errorf("rule %s data not truncated: %d bytes", r.ID, len(r.Data))
				}
			}
			if !strings.HasPrefix(ids["10"], "[redacted] (matched within ") {
				t.Errorf("rule 10 data %q, want the value redacted", ids["10"])
			}
			if _, ok := ids["12"]; ok {
				t.Error("a nolog rule appears in the event")
			}
			if !strings.HasPrefix(ids["11"], "Matched Data: attackAAA") {
				t.Errorf("rule 11 data %q, want the (non-secret) match kept", ids["11"])
			}
		})
	}
}
