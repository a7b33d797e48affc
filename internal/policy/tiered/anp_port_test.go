package tiered

import (
	"strings"
	"testing"
)

// TestCompileAdminPort: a port names exactly one of portNumber, portRange
// and namedPort; a named port beside another is refused like any other
// pair, not accepted for its name.
func TestCompileAdminPort(t *testing.T) {
	dns := "dns"
	tests := []struct {
		name    string
		port    AdminPort
		wantErr string
	}{
		{"number", AdminPort{PortNumber: &AdminPortNumber{Port: 53}}, ""},
		{"range", AdminPort{PortRange: &AdminPortRange{Start: 80, End: 90}}, ""},
		{"named", AdminPort{NamedPort: &dns}, ""},
		{"none", AdminPort{}, "exactly one of"},
		{"number and range", AdminPort{PortNumber: &AdminPortNumber{Port: 53}, PortRange: &AdminPortRange{Start: 80, End: 90}}, "exactly one of"},
		{"named and number", AdminPort{PortNumber: &AdminPortNumber{Port: 53}, NamedPort: &dns}, "exactly one of"},
		{"reversed range", AdminPort{PortRange: &AdminPortRange{Start: 90, End: 80}}, "invalid"},
	}
	for _, tt := range tests {
		_, err := compileAdminPort(tt.port)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}
