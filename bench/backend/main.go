// Command backend is the benchmark's upstream: the smallest useful HTTP
// server, so that what the benchmark measures is the gateway, not the
// application behind it.
package main

import (
	"flag"
	"log"
	"net/http"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9180", "listen address")
	flag.Parse()
	body := []byte("hello from the benchmark backend\n")
	srv := &http.Server{
		Addr:              *addr,
		ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write(body)
		}),
	}
	log.Fatal(srv.ListenAndServe())
}
