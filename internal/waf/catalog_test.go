package waf

import "testing"

func TestCRSCatalog(t *testing.T) {
	c := CRSCatalog()
	for _, id := range []int{942100, 941100, 932160, 930120, 913100, 949110, 951220} {
		if !c.IDs[id] {
			t.Errorf("rule %d missing from the catalog", id)
		}
	}
	for _, tag := range []string{"attack-sqli", "attack-xss", "paranoia-level/2"} {
		if !c.Tags[tag] {
			t.Errorf("tag %q missing from the catalog", tag)
		}
	}
	if c.IDs[4242424] {
		t.Error("catalog holds a rule that does not exist")
	}
	ext := c.With([]RuleFile{{Content: `SecRule ARGS "@rx x" "id:4242424,phase:2,deny,tag:'custom-tag'"`}})
	if !ext.IDs[4242424] || !ext.Tags["custom-tag"] || c.IDs[4242424] {
		t.Error("With does not extend a copy")
	}
}
