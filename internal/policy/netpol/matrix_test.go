package netpol

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

func TestMatrixRendering(t *testing.T) {
	c := world()
	c.Policies = parsePolicies(t,
		pol("x", "deny-all", "  podSelector: {}\n  policyTypes: [Ingress, Egress]")+
			pol("x", "web", "  podSelector: {matchLabels: {pod: a}}\n  ingress:\n  - from: [{namespaceSelector: {matchLabels: {team: blue}}}]\n    ports: [{port: serve-80-tcp}]"))
	// Policies out of order in the input must not change anything.
	c.Policies[0], c.Policies[1] = c.Policies[1], c.Policies[0]
	mx, err := c.Matrix([]Port{{Port: 80}, {Protocol: "UDP", Port: 81}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(mx.Cells); n != 2*9*9 {
		t.Fatalf("%d cells, want %d", n, 2*9*9)
	}
	var text, js bytes.Buffer
	if err := mx.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := mx.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	golden(t, "testdata/matrix.txt", text.Bytes())

	// JSON round-trips and carries the explanation of each cell.
	var back Matrix
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatalf("JSON: %v", err)
	}
	got := back.Cells[len(back.Pods)*3+0] // y/a -> x/a on TCP/80
	if got.From.String() != "y/a" || got.To.String() != "x/a" || !got.Verdict.Allowed ||
		got.Verdict.Ingress.Policy != "x/web" || got.Verdict.Ingress.Reason != ReasonRule {
		t.Errorf("y/a -> x/a: %+v", got)
	}

	// Deterministic: a second run renders the same bytes.
	mx2, _ := c.Matrix([]Port{{Port: 80}, {Protocol: "UDP", Port: 81}})
	var js2 bytes.Buffer
	_ = mx2.WriteJSON(&js2)
	if !bytes.Equal(js.Bytes(), js2.Bytes()) {
		t.Error("JSON differs between runs")
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n--- got\n%s--- want\n%s", path, got, want)
	}
}
