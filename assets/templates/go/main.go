// A tiny web app: run `go run .`, then open http://localhost:8080.
package main

import (
	"fmt"
	"net/http"
)

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "Hello from your podbay workspace")
	})
	http.ListenAndServe("0.0.0.0:8080", nil)
}
