package netpol

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Matrix is the reachability of every ordered pod pair (self included) on
// every port, in a fixed order: ports as given, then source, then
// destination, pods sorted by namespace/name.
type Matrix struct {
	Pods  []Endpoint `json:"pods"`
	Ports []Port     `json:"ports"`
	Cells []Cell     `json:"cells"`
}

// Cell is one connection of the matrix.
type Cell struct {
	From    Endpoint `json:"from"`
	To      Endpoint `json:"to"`
	Port    Port     `json:"port"`
	Verdict Verdict  `json:"verdict"`
}

// Matrix evaluates all pod pairs on ports, compiling the cluster once.
func (c *Cluster) Matrix(ports []Port) (*Matrix, error) {
	m, err := c.compile()
	if err != nil {
		return nil, err
	}
	out := &Matrix{Cells: make([]Cell, 0, len(ports)*len(m.pods)*len(m.pods))}
	for _, p := range m.pods {
		out.Pods = append(out.Pods, PodEndpoint(p.namespace, p.name))
	}
	for _, port := range ports {
		if err := port.validate(); err != nil {
			return nil, fmt.Errorf("matrix: %w", err)
		}
		port.Protocol = port.protocol()
		out.Ports = append(out.Ports, port)
		for i, s := range m.pods {
			for j, d := range m.pods {
				out.Cells = append(out.Cells, Cell{
					From: out.Pods[i], To: out.Pods[j], Port: port,
					Verdict: m.verdict(end{pod: s}, end{pod: d}, port),
				})
			}
		}
	}
	return out, nil
}

// cell is the connection from the from-th to the to-th pod on the port-th port.
func (mx *Matrix) cell(port, from, to int) Cell {
	n := len(mx.Pods)
	return mx.Cells[port*n*n+from*n+to]
}

// WriteText renders one grid per port: rows are sources, columns
// destinations, "." allowed and "X" denied.
func (mx *Matrix) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	for pi, port := range mx.Ports {
		if pi > 0 {
			fmt.Fprintln(tw)
		}
		head := []string{port.String()}
		for _, p := range mx.Pods {
			head = append(head, p.String())
		}
		fmt.Fprintln(tw, strings.Join(head, "\t"))
		for si, src := range mx.Pods {
			row := []string{src.String()}
			for di := range mx.Pods {
				mark := "X"
				if mx.cell(pi, si, di).Verdict.Allowed {
					mark = "."
				}
				row = append(row, mark)
			}
			fmt.Fprintln(tw, strings.Join(row, "\t"))
		}
	}
	return tw.Flush()
}

// WriteJSON renders the matrix, with every verdict's explanation, as indented JSON.
func (mx *Matrix) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(mx)
}
